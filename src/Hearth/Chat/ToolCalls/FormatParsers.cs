namespace Hearth.Chat.ToolCalls;

/// <summary>
/// One reader per format. Each takes the output between <c>pos</c> (after reasoning and leading whitespace) and <c>end</c>
/// (before trailing end-of-turn tokens) and records content, calls and problems in the <see cref="ParseState"/>. Calls are
/// looked for only where the format's stream triggers fire (see <see cref="ToolCallFormats"/>), so text the stream
/// filter lets through is always content here too.
/// </summary>
internal static partial class FormatParsers
{
    private const string ToolCallOpen = "<tool_call>";
    private const string ToolCallClose = "</tool_call>";
    private const string FunctionEq = "<function=";
    private const string FunctionName = "<function name=\"";
    private const string FunctionClose = "</function>";
    private const string PythonTag = "<|python_tag|>";
    private const string PhiOpen = "<|tool_call|>";
    private const string Functools = "functools[";
    private const string MistralCalls = "[TOOL_CALLS]";
    private const string MistralArgs = "[ARGS]";
    private const string MistralCallId = "[CALL_ID]";
    private const string StartAction = "<|START_ACTION|>";
    private const string EndAction = "<|END_ACTION|>";
    private const string DeepSeekCallsEnd = "<｜tool▁calls▁end｜>";
    private const string DeepSeekCallEnd = "<｜tool▁call▁end｜>";
    private const string DeepSeekSep = "<｜tool▁sep｜>";

    private static readonly string[] s_hermesOpeners = [ToolCallOpen, FunctionEq, FunctionName];
    private static readonly string[] s_hermesClosers = [ToolCallClose];
    private static readonly string[] s_phiOpeners = [PhiOpen, Functools];
    private static readonly string[] s_phiClosers = ["<|/tool_call|>", "</|tool_call|>", ToolCallClose];
}
