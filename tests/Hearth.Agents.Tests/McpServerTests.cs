using Hearth.Agents.Audit;
using Hearth.Agents.State;
using Hearth.Agents.Tools;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Hearth.Agents.Tests;

/// <summary><c>hearth mcp</c> as a child process, driven over stdio by the ModelContextProtocol package's own client.</summary>
public sealed class McpServerTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private string PolicyFile(string extra)
    {
        var path = Path.Combine(_box.Dir, "policy.yaml");
        File.WriteAllText(path, $"roots:\n  - path: root\n    access: read-write\noperations:\n  create: auto\n  move: ask\nstate: state\n{extra}");
        return path;
    }

    private static async Task<McpClient> Connect(string policyFile)
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "hearth",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "Hearth.Cli.dll"), "mcp", "--policy", policyFile],
        });
        return await McpClient.CreateAsync(transport);
    }

    private static async Task<(bool IsError, string Text)> Call(McpClient client, string tool, params (string Key, object? Value)[] args)
    {
        var result = await client.CallToolAsync(tool, args.ToDictionary(a => a.Key, a => a.Value));
        return (result.IsError == true, string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text)));
    }

    /// <summary>The state directory once the server process has let go of it.</summary>
    private async Task<AgentStateStore> StateAfterExit()
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return AgentStateStore.Open(_box.State);
            }
            catch (AgentStateBusyException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task ToolsRoundTripOverStdioUnderThePolicy()
    {
        _box.Write("a.txt", "alpha");
        File.WriteAllText(Path.Combine(_box.Outside, "secret.txt"), "secret");
        await using (var client = await Connect(PolicyFile("")))
        {
            Assert.Equal("hearth", client.ServerInfo?.Name);
            var tools = await client.ListToolsAsync();
            Assert.Equal(AgentTools.Names.Order(), tools.Select(t => t.Name).Order());
            Assert.Contains("\"additionalProperties\":false", tools.Single(t => t.Name == "move_file").ProtocolTool.InputSchema.GetRawText());

            Assert.Equal((false, "alpha"), await Call(client, "read_file", ("path", "a.txt")));
            Assert.Equal((false, "wrote 13 bytes to made.txt"), await Call(client, "write_file", ("path", "made.txt"), ("content", "made over mcp")));
            var move = await Call(client, "move_file", ("from", "a.txt"), ("to", "b.txt"));
            Assert.True(move.IsError);
            Assert.Contains("not approved", move.Text); // "ask" cannot be asked over stdio: refused
            var delete = await Call(client, "delete_file", ("path", "a.txt"));
            Assert.True(delete.IsError);
            Assert.Contains("denies 'delete'", delete.Text);
            var escape = await Call(client, "read_file", ("path", "../outside/secret.txt"));
            Assert.True(escape.IsError);
            Assert.DoesNotContain("secret\"", escape.Text);
            var malformed = await Call(client, "write_file", ("path", "x.txt"));
            Assert.True(malformed.IsError);
            Assert.Contains("schema", malformed.Text);
        }

        Assert.Equal("made over mcp", File.ReadAllText(Path.Combine(_box.Root, "made.txt")));
        Assert.True(File.Exists(Path.Combine(_box.Root, "a.txt")));
        Assert.False(File.Exists(Path.Combine(_box.Root, "x.txt")));
        using var state = await StateAfterExit();
        var rows = state.Audit.Read();
        Assert.All(rows, r => Assert.Equal("mcp", r.Actor));
        Assert.Equal(["read_file", "write_file", "move_file", "delete_file", "read_file", "write_file"], rows.Select(r => r.Tool));
        Assert.Equal([AuditDecision.Allowed, AuditDecision.Allowed, AuditDecision.Denied, AuditDecision.Denied, AuditDecision.Denied, AuditDecision.Denied],
            rows.Select(r => r.Decision));
        Assert.Single(state.Journal.Entries(), e => e.Operation == Journal.JournalOperation.Create);
    }

    [Fact]
    public async Task AskOperationsRunWhenThePolicyTrustsTheMcpClient()
    {
        _box.Write("a.txt", "alpha");
        await using (var client = await Connect(PolicyFile("mcp:\n  ask: approve\n")))
        {
            Assert.Equal((false, "moved a.txt to sorted/a.txt"), await Call(client, "move_file", ("from", "a.txt"), ("to", "sorted/a.txt")));
        }

        Assert.Equal("alpha", File.ReadAllText(Path.Combine(_box.Root, "sorted", "a.txt")));
        using var state = await StateAfterExit();
        Assert.Equal(AuditDecision.Approved, state.Audit.Read().Single().Decision);
    }
}
