using System.Text;
using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>
/// The stream filter: a call split across any number of chunks never leaks into content, plain text comes through
/// promptly, and the deltas always add up to what the one-shot parser gives.
/// </summary>
public sealed class StreamFilterTests
{
    [Theory]
    [MemberData(nameof(GoldenOutputs.Names), MemberType = typeof(GoldenOutputs))]
    public void GoldenOutputStreamsInAnyChunking(string name)
    {
        var golden = GoldenOutputs.Get(name);
        var options = new ToolCallParseOptions { ReasoningStartedInPrompt = golden.ReasoningStartedInPrompt };
        foreach (int size in new[] { 1, 2, 3, 5, 8, 13, golden.Output.Length })
        {
            var result = ToolCallAssert.Streams(golden.Output, golden.Format, ToolCallAssert.Chunks(golden.Output, size), options);
            Assert.Equal(golden.Calls.Length, result.ToolCalls.Count);
        }

        for (int seed = 0; seed < 20; seed++)
            ToolCallAssert.Streams(golden.Output, golden.Format, ToolCallAssert.RandomChunks(golden.Output, seed), options);
    }

    [Fact]
    public void CallSplitIntoCharactersNeverReachesContent()
    {
        const string output = "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        var streamed = new StringBuilder();
        foreach (char c in output)
        {
            streamed.Append(filter.Push(c.ToString()).Content);
            Assert.DoesNotContain("<", streamed.ToString());
        }

        Assert.Equal("Let me check.", streamed.ToString());
        Assert.True(filter.ToolCallStarted);
        Assert.True(filter.Finish().IsEmpty);
        Assert.Equal("get_weather", Assert.Single(filter.Result!.ToolCalls).Name);
    }

    [Fact]
    public void PlainTextComesThroughAsSoonAsItArrives()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        Assert.Equal("Hello", filter.Push("Hello").Content);
        Assert.Equal("", filter.Push(" ").Content); // trailing whitespace waits for what follows it
        Assert.Equal(" world,", filter.Push("world,").Content);
        Assert.Equal(" it is", filter.Push(" it is").Content);
        Assert.Equal(" sunny.", filter.Push(" sunny.").Content);
        Assert.False(filter.IsHolding);
        Assert.True(filter.Finish().IsEmpty);
        Assert.Equal("Hello world, it is sunny.", filter.Result!.Content);
        Assert.False(filter.ToolCallStarted);
    }

    [Fact]
    public void AngleBracketIsHeldOnlyUntilItCannotBeAMarker()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        Assert.Equal("if a", filter.Push("if a <").Content);
        Assert.True(filter.IsHolding);
        Assert.Equal("", filter.Push("tool").Content); // "<tool" may still become "<tool_call>"
        Assert.Equal(" <tools> b", filter.Push("s> b").Content);
        Assert.False(filter.IsHolding);
    }

    [Fact]
    public void PartialMarkerIsHeldThenReleased()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Mistral);
        Assert.Equal("See", filter.Push("See [TOOL").Content);
        Assert.Equal(" [TOOLBOX] docs.", filter.Push("BOX] docs.").Content);
    }

    [Fact]
    public void ReasoningStreamsSeparatelyFromContent()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        var d1 = filter.Push("<thi");
        Assert.True(d1.IsEmpty);
        var d2 = filter.Push("nk>\nFirst, ");
        Assert.Equal("First,", d2.Reasoning);
        var d3 = filter.Push("the weather.\n</th");
        Assert.Equal(" the weather.", d3.Reasoning);
        var d4 = filter.Push("ink>\n\nIt is sunny.");
        Assert.Equal("", d4.Reasoning);
        Assert.Equal("It is sunny.", d4.Content);
        Assert.True(filter.Finish().IsEmpty);
        Assert.Equal("First, the weather.", filter.Result!.Reasoning);
    }

    [Fact]
    public void ReasoningOpenedByThePrompt()
    {
        var options = new ToolCallParseOptions { ReasoningStartedInPrompt = true };
        var filter = new ToolCallStreamFilter(ToolCallFormat.DeepSeekR1, options);
        Assert.Equal("Thinking", filter.Push("Thinking").Reasoning);
        Assert.Equal(" hard.", filter.Push(" hard.\n</think>\n\n").Reasoning);
        Assert.Equal("Answer.", filter.Push("Answer.").Content);
        filter.Finish();
        Assert.Equal("Thinking hard.", filter.Result!.Reasoning);
        Assert.Equal("Answer.", filter.Result.Content);
    }

    [Fact]
    public void ContentAfterTheCallArrivesWithFinish()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        var streamed = new StringBuilder();
        foreach (var chunk in ToolCallAssert.Chunks("Checking.<tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call> Back soon.", 4))
            streamed.Append(filter.Push(chunk).Content);
        Assert.Equal("Checking.", streamed.ToString());
        Assert.Equal(" Back soon.", filter.Finish().Content);
        Assert.Equal("Checking. Back soon.", filter.Result!.Content);
    }

    [Fact]
    public void BrokenCallIsReleasedAsContentAtTheEnd()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        Assert.Equal("Hi", filter.Push("Hi <tool_call>{\"name\": ").Content);
        Assert.True(filter.ToolCallStarted);
        var last = filter.Finish();
        Assert.Equal(" <tool_call>{\"name\":", last.Content);
        Assert.Equal(ToolCallProblemKind.Unterminated, Assert.Single(filter.Result!.Problems).Kind);
        Assert.False(filter.ToolCallStarted);
    }

    [Fact]
    public void LlamaHoldsALeadingJsonCallButNotOtherJson()
    {
        var call = new ToolCallStreamFilter(ToolCallFormat.Llama3Json);
        Assert.True(call.Push("{\"na").IsEmpty);
        Assert.True(call.Push("me\": \"f\", \"parameters\": {}}").IsEmpty);
        Assert.True(call.ToolCallStarted);

        var answer = new ToolCallStreamFilter(ToolCallFormat.Llama3Json);
        Assert.Equal("", answer.Push("{\"").Content);
        Assert.Equal("{\"answer\": 42}", answer.Push("answer\": 42}").Content);
        Assert.False(answer.ToolCallStarted);
    }

    [Fact]
    public void FunctionaryRecipientIsDroppedAndCallsHeld()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.FunctionaryV32);
        Assert.Equal("", filter.Push("al").Content);
        Assert.Equal("Let", filter.Push("l\nLet").Content);
        Assert.Equal(" me check.", filter.Push(" me check.>>").Content);
        Assert.Equal("", filter.Push(">get_weather\n{\"city\": \"Paris\"}").Content);
        Assert.True(filter.ToolCallStarted);
        filter.Finish();
        Assert.Equal("get_weather", Assert.Single(filter.Result!.ToolCalls).Name);
    }

    [Fact]
    public void EndOfTurnTokensNeverReachTheStream()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Llama3Json);
        var streamed = new StringBuilder();
        foreach (char c in "Done.<|eot_id|>") streamed.Append(filter.Push(c.ToString()).Content);
        streamed.Append(filter.Finish().Content);
        Assert.Equal("Done.", streamed.ToString());
    }

    [Fact]
    public void PushAfterFinishThrowsAndFinishIsIdempotent()
    {
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        filter.Push("hi");
        filter.Finish();
        Assert.True(filter.Finish().IsEmpty);
        Assert.Throws<InvalidOperationException>(() => filter.Push("more"));
    }

    [Fact]
    public void LongPlainOutputStreamsInLinearTime()
    {
        // 200k characters pushed one token-sized chunk at a time: the filter must not rescan what it has released.
        var filter = new ToolCallStreamFilter(ToolCallFormat.Hermes);
        var text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 4500));
        var streamed = new StringBuilder();
        foreach (var chunk in ToolCallAssert.Chunks(text, 4)) streamed.Append(filter.Push(chunk).Content);
        streamed.Append(filter.Finish().Content);
        Assert.Equal(text.Trim(), streamed.ToString());
    }

    [Theory]
    [InlineData("Hello", "Hello", false, false)]
    [InlineData("Hello <tool", "Hello", false, true)]
    [InlineData("Hello <tool_call>{\"na", "Hello", true, true)]
    [InlineData("Hello <b>", "Hello <b>", false, false)]
    [InlineData("<thi", "", false, true)]
    [InlineData("<think>plan", "", false, false)]
    public void InspectTextSoFar(string text, string safe, bool started, bool mayBe)
    {
        var state = ToolCallStreamFilter.Inspect(text, ToolCallFormat.Hermes);
        Assert.Equal(safe, state.SafeContent);
        Assert.Equal(started, state.ToolCallStarted);
        Assert.Equal(mayBe, state.MayBeToolCall);
    }

    [Fact]
    public void MayBeToolCallSettlesAtFinish()
    {
        var plain = new ToolCallStreamFilter(ToolCallFormat.Mistral);
        plain.Push("Use [TOOL");
        Assert.True(plain.MayBeToolCall);
        plain.Finish();
        Assert.False(plain.MayBeToolCall);

        var call = new ToolCallStreamFilter(ToolCallFormat.Mistral);
        call.Push("[TOOL_CALLS]f[ARGS]{}");
        call.Finish();
        Assert.True(call.MayBeToolCall);
    }
}
