using System.Text.Json.Nodes;
using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>Assertions shared by the tool-call tests.</summary>
internal static class ToolCallAssert
{
    /// <summary>Parses JSON text into an object (test data).</summary>
    public static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();

    /// <summary>The calls are exactly these (name, arguments JSON) pairs, in order.</summary>
    public static void Calls(ParsedAssistantMessage message, params (string Name, string Arguments)[] expected)
    {
        Assert.True(expected.Length == message.ToolCalls.Count,
            $"expected {expected.Length} calls, got {message.ToolCalls.Count}: {string.Join("; ", message.ToolCalls)}; problems: {string.Join("; ", message.Problems)}");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Name, message.ToolCalls[i].Name);
            Json(expected[i].Arguments, message.ToolCalls[i].Arguments);
        }
    }

    /// <summary>Two JSON values are equal (deep, key order ignored).</summary>
    public static void Json(string expected, JsonNode? actual)
    {
        var e = JsonNode.Parse(expected);
        Assert.True(JsonNode.DeepEquals(e, actual), $"expected {e?.ToJsonString()}, got {actual?.ToJsonString() ?? "null"}");
    }

    /// <summary>No problems were reported.</summary>
    public static void Clean(ParsedAssistantMessage message) =>
        Assert.True(message.Problems.Count == 0, "unexpected problems: " + string.Join("; ", message.Problems));

    /// <summary>Exactly one problem, of this kind.</summary>
    public static ToolCallProblem SingleProblem(ParsedAssistantMessage message, ToolCallProblemKind kind)
    {
        Assert.True(message.Problems.Count == 1, $"expected one {kind} problem, got: {string.Join("; ", message.Problems)}");
        Assert.Equal(kind, message.Problems[0].Kind);
        Assert.False(string.IsNullOrWhiteSpace(message.Problems[0].Message));
        return message.Problems[0];
    }

    /// <summary>Offsets and texts of calls and problems point at the output exactly.</summary>
    public static void PointsIntoOutput(string output, ParsedAssistantMessage message)
    {
        foreach (var call in message.ToolCalls)
        {
            Assert.InRange(call.Offset, 0, output.Length);
            Assert.Equal(call.RawText, output.Substring(call.Offset, call.RawText.Length));
        }

        foreach (var problem in message.Problems)
        {
            Assert.InRange(problem.Offset, 0, output.Length);
            Assert.Equal(problem.Text, output.Substring(problem.Offset, problem.Text.Length));
        }
    }

    /// <summary>Streams <paramref name="output"/> in the given chunks and checks the filter against a one-shot parse.</summary>
    public static ParsedAssistantMessage Streams(string output, ToolCallFormat format, IEnumerable<string> chunks, ToolCallParseOptions? options = null)
    {
        var filter = new ToolCallStreamFilter(format, options);
        var content = new System.Text.StringBuilder();
        var reasoning = new System.Text.StringBuilder();
        foreach (var chunk in chunks)
        {
            var delta = filter.Push(chunk);
            content.Append(delta.Content);
            reasoning.Append(delta.Reasoning);
        }

        string streamedBeforeFinish = content.ToString();
        var last = filter.Finish();
        content.Append(last.Content);
        reasoning.Append(last.Reasoning);
        var expected = ToolCallParser.Parse(output, format, options);
        Assert.Equal(output, filter.Text);
        Assert.Equal(expected.Content, content.ToString());
        Assert.Equal(expected.Reasoning ?? "", reasoning.ToString());
        Assert.Equal(expected.ToolCalls.Select(c => c.ToString()), filter.Result!.ToolCalls.Select(c => c.ToString()));
        if (expected.HasToolCalls)
        {
            // Nothing of a call reached the stream before the end: what was streamed precedes the first call.
            int firstCall = expected.ToolCalls.Min(c => c.Offset);
            var before = ToolCallParser.Parse(output[..firstCall], format, options).Content;
            Assert.True(before.StartsWith(streamedBeforeFinish, StringComparison.Ordinal),
                $"streamed \"{streamedBeforeFinish}\" before the end, but the content before the first call is \"{before}\"");
        }

        return filter.Result!;
    }

    /// <summary>Splits text into chunks of a fixed size.</summary>
    public static IEnumerable<string> Chunks(string text, int size)
    {
        for (int i = 0; i < text.Length; i += size) yield return text.Substring(i, Math.Min(size, text.Length - i));
    }

    /// <summary>Splits text at seeded random points (chunks of 1 to 8 characters).</summary>
    public static IEnumerable<string> RandomChunks(string text, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < text.Length;)
        {
            int n = Math.Min(rng.Next(1, 9), text.Length - i);
            yield return text.Substring(i, n);
            i += n;
        }
    }
}
