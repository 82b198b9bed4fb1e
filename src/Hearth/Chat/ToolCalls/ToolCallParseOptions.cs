using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>
/// How <see cref="ToolCallParser"/> and <see cref="ToolCallStreamFilter"/> read an output. Immutable once built; the
/// <see cref="Tools"/> array is read once, on first use, so do not change it afterwards. Safe to share between threads.
/// </summary>
public sealed class ToolCallParseOptions
{
    /// <summary>The defaults: reasoning separated, no tool-name validation, ids <c>call_N</c>.</summary>
    public static ToolCallParseOptions Default { get; } = new();

    /// <summary>
    /// The tools that were offered, as in <see cref="ChatTemplateInput.Tools"/> (<c>{"type": "function", "function": {"name", "parameters"}}</c>,
    /// or bare <c>{"name", "parameters"}</c>). When set, a call to any other name is reported as
    /// <see cref="ToolCallProblemKind.UnknownTool"/> (and kept), and Qwen3-Coder XML parameters are typed by the tool's schema.
    /// Null: names are not checked.
    /// </summary>
    public JsonArray? Tools { get; init; }

    /// <summary>Whether to separate reasoning (<c>&lt;think&gt;…&lt;/think&gt;</c>, Command R7B's thinking block) from content. Default true.</summary>
    public bool ExtractReasoning { get; init; } = true;

    /// <summary>
    /// The prompt already opened the reasoning block (it ends with <c>&lt;think&gt;\n</c>, as DeepSeek R1's template does), so the
    /// output starts inside reasoning: everything up to the closing tag is reasoning, and all of it when there is no closing tag.
    /// Set it from <see cref="ToolCallParser.PromptOpensReasoning(string)"/>. (Without it, <see cref="ToolCallParser.Parse(string, ToolCallFormat, ToolCallParseOptions?)"/>
    /// still takes text before a closing tag that has no opening one as reasoning; the stream filter cannot, as it has already streamed it.)
    /// </summary>
    public bool ReasoningStartedInPrompt { get; init; }

    /// <summary>The prefix of generated call ids (<c>call_</c> gives <c>call_0</c>, <c>call_1</c>, …). Not used for the Mistral formats.</summary>
    public string IdPrefix { get; init; } = "call_";

    private HashSet<string>? _toolNames;
    private Dictionary<string, JsonObject>? _toolSchemas;

    /// <summary>The names of the offered tools, or null when <see cref="Tools"/> is null.</summary>
    internal HashSet<string>? ToolNames
    {
        get
        {
            if (Tools == null) return null;
            if (_toolNames == null) Index();
            return _toolNames;
        }
    }

    /// <summary>The parameter schema of an offered tool, when it has one.</summary>
    internal JsonObject? SchemaOf(string name)
    {
        if (Tools == null) return null;
        if (_toolSchemas == null) Index();
        return _toolSchemas!.GetValueOrDefault(name);
    }

    private void Index()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var schemas = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var tool in Tools!)
        {
            if (tool is not JsonObject obj) continue;
            var function = obj["function"] as JsonObject ?? obj;
            if (function["name"] is JsonValue v && v.TryGetValue(out string? name) && name.Length > 0)
            {
                names.Add(name);
                if (function["parameters"] is JsonObject parameters) schemas.TryAdd(name, parameters);
            }
        }

        _toolSchemas = schemas;
        _toolNames = names;
    }
}
