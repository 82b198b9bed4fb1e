using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Hearth.Chat.ToolCalls;

/// <summary>How the body of one call is written.</summary>
public enum ToolCallBodyShape
{
    /// <summary>
    /// One JSON object holding the name and the arguments (and an id where <see cref="ToolCallSyntax.IdKey"/> is set), keys in
    /// <see cref="ToolCallSyntax.KeyOrder"/>: <c>{"name": "f", "arguments": {...}}</c>.
    /// </summary>
    JsonObject,

    /// <summary>
    /// The bare function name, then <see cref="ToolCallSyntax.NameArgumentsSeparator"/>, then the arguments object:
    /// <c>f\n{...}</c> (Functionary), <c>f[ARGS]{...}</c> (Mistral v11).
    /// </summary>
    NameThenArguments,
}

/// <summary>
/// The exact text a format uses for tool calls, for building a grammar that forces a valid call (tool_choice
/// <c>required</c> or a named function) around the JSON-Schema grammar of each tool's arguments. The output of a forced
/// turn is
/// <code>
/// Prefix  call (CallSeparator call)*  Suffix        where  call = CallPrefix body CallSuffix
/// </code>
/// and <c>body</c> is shaped by <see cref="Shape"/>. Every part is literal text; JSON inside may use any whitespace, but
/// <see cref="Render(IReadOnlyList{ParsedToolCall})"/> writes the canonical form (Python <c>json.dumps</c> spacing, as the chat templates write it).
/// <see cref="ToolCallParser"/> reads back everything <see cref="Render(IReadOnlyList{ParsedToolCall})"/> writes.
/// </summary>
public sealed class ToolCallSyntax
{
    internal ToolCallSyntax(ToolCallFormat format)
    {
        Format = format;
    }

    /// <summary>The format this describes.</summary>
    public ToolCallFormat Format { get; }

    /// <summary>Opens the tool-call section, once, before the first call (<c>&lt;|tool_call|&gt;[</c>; "" when none).</summary>
    public string Prefix { get; internal init; } = "";

    /// <summary>Closes the section after the last call (<c>]&lt;|/tool_call|&gt;</c>; "" when none).</summary>
    public string Suffix { get; internal init; } = "";

    /// <summary>Written before each call (<c>&lt;tool_call&gt;\n</c>, <c>[TOOL_CALLS]</c>; "" when none).</summary>
    public string CallPrefix { get; internal init; } = "";

    /// <summary>Written after each call (<c>\n&lt;/tool_call&gt;</c>; "" when none).</summary>
    public string CallSuffix { get; internal init; } = "";

    /// <summary>Written between two calls (<c>\n</c>, <c>, </c> inside an array, <c>&gt;&gt;&gt;</c> for Functionary).</summary>
    public string CallSeparator { get; internal init; } = "";

    /// <summary>
    /// Whether the calls are the items of one JSON array (then <see cref="Prefix"/> ends with <c>[</c>, <see cref="Suffix"/> starts
    /// with <c>]</c> and <see cref="CallSeparator"/> is a comma): a grammar may equally build the array from a JSON schema of items.
    /// </summary>
    public bool ArrayWrapped { get; internal init; }

    /// <summary>How one call's body is written.</summary>
    public ToolCallBodyShape Shape { get; internal init; } = ToolCallBodyShape.JsonObject;

    /// <summary>For <see cref="ToolCallBodyShape.JsonObject"/>: the key of the function name (<c>name</c>, <c>tool_name</c>).</summary>
    public string NameKey { get; internal init; } = "name";

    /// <summary>For <see cref="ToolCallBodyShape.JsonObject"/>: the key of the arguments object (<c>arguments</c>, <c>parameters</c>).</summary>
    public string ArgumentsKey { get; internal init; } = "arguments";

    /// <summary>For <see cref="ToolCallBodyShape.JsonObject"/>: the key of a call id the model writes itself, or null.</summary>
    public string? IdKey { get; internal init; }

    /// <summary>The regular expression an id under <see cref="IdKey"/> must match (Mistral: <c>^[a-zA-Z0-9]{9}$</c>), or null.</summary>
    public string? IdPattern { get; internal init; }

    /// <summary>The keys of the call object in the order the model writes them (name, arguments and id keys).</summary>
    public IReadOnlyList<string> KeyOrder { get; internal init; } = ["name", "arguments"];

    /// <summary>For <see cref="ToolCallBodyShape.NameThenArguments"/>: the text between the name and the arguments object.</summary>
    public string NameArgumentsSeparator { get; internal init; } = "";

    /// <summary>Whether the model may make several calls in one turn (the format or its template allows only one otherwise).</summary>
    public bool SupportsParallelCalls { get; internal init; } = true;

    /// <summary>
    /// Literal texts that, wherever they appear in the output, begin a tool call: the word triggers of a lazy grammar
    /// (one that lets the model write freely until it starts a call). Empty when calls have no marker.
    /// </summary>
    public IReadOnlyList<string> Triggers { get; internal init; } = [];

    /// <summary>
    /// Whether a call may also begin at the very start of the output (after any reasoning) with no trigger: Llama 3.x and
    /// Generic JSON, Functionary's first call (its <c>&gt;&gt;&gt;</c> is in the prompt). A lazy grammar must then also
    /// trigger on the first characters of <see cref="Render(IReadOnlyList{ParsedToolCall})"/>'s form at the start.
    /// </summary>
    public bool CallMayOpenOutput { get; internal init; }

    /// <summary>
    /// The text a model of this format writes for these calls, in canonical spacing. Arguments are written in Python
    /// <c>json.dumps</c> style; an id is the call's own where it matches <see cref="IdPattern"/>, else generated from its position.
    /// </summary>
    /// <exception cref="ArgumentException">No calls were given, or more than one where <see cref="SupportsParallelCalls"/> is false.</exception>
    public string Render(IReadOnlyList<ParsedToolCall> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        return Render(calls.Select(c => (c.Name, c.Arguments, (string?)c.Id)).ToList());
    }

    /// <summary>As <see cref="Render(IReadOnlyList{ParsedToolCall})"/>, from (name, arguments, id or null) triples.</summary>
    /// <exception cref="ArgumentException">No calls were given, or more than one where <see cref="SupportsParallelCalls"/> is false.</exception>
    public string Render(IReadOnlyList<(string Name, JsonObject Arguments, string? Id)> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        if (calls.Count == 0) throw new ArgumentException("there must be at least one call to render", nameof(calls));
        if (calls.Count > 1 && !SupportsParallelCalls)
            throw new ArgumentException($"the {ToolCallFormats.Get(Format).Name} format carries one call per turn, not {calls.Count}", nameof(calls));

        var sb = new StringBuilder(Prefix);
        for (int i = 0; i < calls.Count; i++)
        {
            var (name, arguments, id) = calls[i];
            if (i > 0) sb.Append(CallSeparator);
            sb.Append(CallPrefix);
            if (Shape == ToolCallBodyShape.NameThenArguments)
            {
                sb.Append(name).Append(NameArgumentsSeparator).Append(JsonText.ToPythonStyle(arguments));
            }
            else
            {
                sb.Append('{');
                for (int k = 0; k < KeyOrder.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    string key = KeyOrder[k];
                    JsonText.WriteString(sb, key);
                    sb.Append(": ");
                    if (key == NameKey) JsonText.WriteString(sb, name);
                    else if (key == ArgumentsKey) sb.Append(JsonText.ToPythonStyle(arguments));
                    else if (key == IdKey) JsonText.WriteString(sb, IdFor(id, i));
                }

                sb.Append('}');
            }

            sb.Append(CallSuffix);
        }

        return sb.Append(Suffix).ToString();
    }

    private string IdFor(string? id, int index)
    {
        if (id != null && (IdPattern == null || Regex.IsMatch(id, IdPattern, RegexOptions.CultureInvariant))) return id;
        return Format switch
        {
            ToolCallFormat.Mistral or ToolCallFormat.MistralV11 => ParseState.MistralId(index),
            _ => index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
