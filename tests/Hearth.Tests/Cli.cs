using Hearth.Cli;

namespace Hearth.Tests;

/// <summary>Runs the <c>hearth</c> command line in-process and captures what it prints.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args) => RunWithInput("", args);

    public static (int Code, string Out, string Err) RunWithInput(string stdin, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HearthCommand.Run(args, new StringReader(stdin), o, e);
        return (code, o.ToString(), e.ToString());
    }
}
