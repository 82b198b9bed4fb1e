using System.Text.Json.Nodes;
using Hearth.Chat;

namespace Hearth.Tests.Chat;

/// <summary>Renders template snippets against a fixed context, the way the construct tests use them.</summary>
internal static class Jinja
{
    /// <summary>The variables every snippet sees (besides messages, bos_token, ...).</summary>
    public const string Context = """
        {"n": 3, "s": "Hello", "items": [3, 1, 2], "user": {"name": "Ada", "age": 36},
         "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
         "empty": [], "none_value": null, "flag": true}
        """;

    /// <summary>The instant strftime_now sees: Saturday 21 November 2026, 09:30.</summary>
    public static readonly DateTime Now = new(2026, 11, 21, 9, 30, 0);

    public static string Render(string template, string? variablesJson = null) =>
        ChatTemplate.Parse(template).Render(Input(variablesJson));

    public static ChatTemplateInput Input(string? variablesJson = null)
    {
        var variables = new Dictionary<string, JsonNode?>();
        foreach (var (key, value) in JsonNode.Parse(variablesJson ?? Context)!.AsObject()) variables[key] = value?.DeepClone();
        return new ChatTemplateInput { Variables = variables, Now = Now };
    }
}
