using Hearth.Cli;

return HearthCommand.Run(args, Console.In, Console.Out, Console.Error);
