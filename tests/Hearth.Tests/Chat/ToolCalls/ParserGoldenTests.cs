using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>Every golden output parses to exactly its content, reasoning and calls, with no problems.</summary>
public sealed class ParserGoldenTests
{
    [Theory]
    [MemberData(nameof(GoldenOutputs.Names), MemberType = typeof(GoldenOutputs))]
    public void ParsesGoldenOutput(string name)
    {
        var golden = GoldenOutputs.Get(name);
        var options = new ToolCallParseOptions { ReasoningStartedInPrompt = golden.ReasoningStartedInPrompt };
        var message = ToolCallParser.Parse(golden.Output, golden.Format, options);

        ToolCallAssert.Clean(message);
        Assert.Equal(golden.Content, message.Content);
        Assert.Equal(golden.Reasoning, message.Reasoning);
        ToolCallAssert.Calls(message, golden.Calls.Select(c => (c.Name, c.Arguments)).ToArray());
        Assert.Equal(golden.Calls.Select(c => c.Id), message.ToolCalls.Select(c => c.Id));
        ToolCallAssert.PointsIntoOutput(golden.Output, message);
    }

    [Theory]
    [MemberData(nameof(GoldenOutputs.Names), MemberType = typeof(GoldenOutputs))]
    public void CallsAreValidatedAgainstOfferedTools(string name)
    {
        var golden = GoldenOutputs.Get(name);
        var offered = new System.Text.Json.Nodes.JsonArray();
        foreach (var call in golden.Calls.DistinctBy(c => c.Name))
        {
            offered.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["type"] = "function",
                ["function"] = new System.Text.Json.Nodes.JsonObject { ["name"] = call.Name, ["parameters"] = new System.Text.Json.Nodes.JsonObject() },
            });
        }

        var options = new ToolCallParseOptions { ReasoningStartedInPrompt = golden.ReasoningStartedInPrompt, Tools = offered };
        ToolCallAssert.Clean(ToolCallParser.Parse(golden.Output, golden.Format, options));
    }
}
