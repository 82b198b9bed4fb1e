using System.CommandLine;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary><c>hearth chat MODEL</c>: an interactive chat through the model's own chat template.</summary>
internal static class ChatCommand
{
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("model") { Description = "GGUF model file" };
        var system = new Option<string?>("--system", "-s") { Description = "system prompt" };
        var template = new Option<string?>("--template") { Description = "chat template file (default: the model's own, or a built-in fallback)" };
        var n = new Option<int>("-n", "--n-predict") { Description = "most tokens per answer", DefaultValueFactory = _ => 512 };
        var sampling = new SamplingArguments();
        var cmd = new Command("chat", "Chat with a model interactively (/reset clears the history, /exit or end of input quits).") { model, system, template, n };
        sampling.AddTo(cmd);
        cmd.SetAction(async (r, cancel) =>
        {
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(sampling.Context), Threads = r.GetValue(sampling.Threads) });
            var chatTemplate = r.GetValue(template) is { } path ? ChatTemplate.Parse(File.ReadAllText(path)) : null;
            using var client = new HearthChatClient(lm, chatTemplate);
            var s = sampling.Read(r);
            var options = new ChatOptions
            {
                Instructions = r.GetValue(system),
                Temperature = s.Temperature,
                TopK = s.TopK,
                TopP = s.TopP,
                Seed = s.Seed is ulong seed ? unchecked((long)seed) : null,
                MaxOutputTokens = r.GetValue(n),
            };
            var adapters = sampling.ReadAdapters(r);
            if (adapters.Count > 0) options.AdditionalProperties = new AdditionalPropertiesDictionary { [HearthChatClient.LoraOption] = adapters };
            var history = new List<ChatMessage>();
            stderr.WriteLine($"{Path.GetFileName(lm.File.Path)} ({lm.Architecture}, template {client.Template.Name}); /reset, /exit");
            while (!cancel.IsCancellationRequested)
            {
                stdout.Write("> ");
                stdout.Flush();
                var line = await stdin.ReadLineAsync(cancel);
                if (line == null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset")
                {
                    history.Clear();
                    continue;
                }

                if (line.Length == 0) continue;
                history.Add(new ChatMessage(ChatRole.User, line));
                var answer = new System.Text.StringBuilder();
                await foreach (var update in client.GetStreamingResponseAsync(history, options, cancel))
                {
                    answer.Append(update.Text);
                    stdout.Write(update.Text);
                    stdout.Flush();
                }

                stdout.WriteLine();
                history.Add(new ChatMessage(ChatRole.Assistant, answer.ToString()));
            }

            return 0;
        });
        return cmd;
    }
}
