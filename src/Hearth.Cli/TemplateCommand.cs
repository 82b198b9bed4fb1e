using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hearth.Chat;
using Hearth.Gguf;

namespace Hearth.Cli;

/// <summary><c>hearth template</c>: renders conversations through chat templates. Parses arguments and prints; the library does the work.</summary>
internal static class TemplateCommand
{
    internal static Command Create(TextReader stdin, TextWriter stdout)
    {
        var cmd = new Command("template", "Chat templates: turn a conversation into the prompt text a model expects.");
        cmd.Subcommands.Add(RenderCommand(stdin, stdout));
        return cmd;
    }

    private static Command RenderCommand(TextReader stdin, TextWriter stdout)
    {
        var model = new Option<string?>("--model", "-m") { Description = "GGUF model whose tokenizer.chat_template (or built-in fallback) and BOS/EOS tokens to use" };
        var templateFile = new Option<string?>("--template") { Description = "Jinja chat template file" };
        var builtIn = new Option<string?>("--builtin") { Description = $"built-in template: {string.Join(", ", ChatTemplate.BuiltInNames)}" };
        var messages = new Option<string>("--messages") { Description = "JSON file: an array of messages, or {\"messages\": [...], \"tools\": [...]}; - reads stdin", Required = true };
        var tools = new Option<string?>("--tools") { Description = "JSON file with an array of tool definitions" };
        var noPrompt = new Option<bool>("--no-generation-prompt") { Description = "do not open the assistant's turn at the end" };
        var bos = new Option<string?>("--bos-token") { Description = "BOS token text (default: the model's, or empty)" };
        var eos = new Option<string?>("--eos-token") { Description = "EOS token text (default: the model's, or empty)" };
        var now = new Option<string?>("--now") { Description = "the instant strftime_now sees, ISO-8601 (default: the current local time)" };
        var vars = new Option<string[]>("--var") { Description = "extra template variable NAME=VALUE (VALUE as JSON, else as text); repeatable", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("render", "Render a conversation through a chat template and print the prompt exactly (no newline added).")
        {
            model, templateFile, builtIn, messages, tools, noPrompt, bos, eos, now, vars,
        };
        cmd.SetAction(r =>
        {
            var template = LoadTemplate(r.GetValue(model), r.GetValue(templateFile), r.GetValue(builtIn));
            string messagesPath = r.GetValue(messages)!;
            string messagesJson = messagesPath == "-" ? stdin.ReadToEnd() : File.ReadAllText(messagesPath);
            string? toolsJson = r.GetValue(tools) is { } toolsPath ? File.ReadAllText(toolsPath) : null;
            var input = ChatTemplateInput.FromJson(messagesJson, toolsJson, addGenerationPrompt: !r.GetValue(noPrompt));
            input = new ChatTemplateInput
            {
                Messages = input.Messages,
                Tools = input.Tools,
                AddGenerationPrompt = input.AddGenerationPrompt,
                BosToken = r.GetValue(bos),
                EosToken = r.GetValue(eos),
                Now = r.GetValue(now) is { } text ? ParseNow(text) : null,
                Variables = ParseVariables(r.GetValue(vars) ?? []),
            };
            stdout.Write(template.Render(input));
            stdout.Flush();
            return 0;
        });
        return cmd;
    }

    private static ChatTemplate LoadTemplate(string? model, string? templateFile, string? builtIn)
    {
        int given = (model != null ? 1 : 0) + (templateFile != null ? 1 : 0) + (builtIn != null ? 1 : 0);
        if (given != 1) throw new ArgumentException("give exactly one of --model, --template or --builtin");
        if (builtIn != null) return ChatTemplate.BuiltIn(builtIn);
        if (templateFile != null) return ChatTemplate.Parse(File.ReadAllText(templateFile));
        using var gguf = GgufFile.Open(model!);
        return ChatTemplate.ForModel(gguf);
    }

    /// <summary>An ISO-8601 instant as the wall-clock time written (an offset, if any, is not applied).</summary>
    private static DateTime ParseNow(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var t)
            ? t.DateTime
            : throw new ArgumentException($"--now: '{text}' is not an ISO-8601 date and time");

    private static Dictionary<string, JsonNode?> ParseVariables(string[] items)
    {
        var result = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--var: '{item}' is not NAME=VALUE");
            string value = item[(eq + 1)..];
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(value);
            }
            catch (System.Text.Json.JsonException)
            {
                node = JsonValue.Create(value);
            }

            result[item[..eq]] = node;
        }

        return result;
    }
}
