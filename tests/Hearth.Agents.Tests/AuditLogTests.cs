using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Hearth.Agents.Audit;
using Hearth.Agents.Policy;
using Hearth.Agents.State;
using Microsoft.Data.Sqlite;

namespace Hearth.Agents.Tests;

public sealed class AuditLogTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private SqliteConnection Raw()
    {
        var db = new SqliteConnection($"Data Source={Path.Combine(_box.State, "agent.db")};Pooling=False");
        db.Open();
        return db;
    }

    private async Task<string> MakeSomeRows()
    {
        _box.Write("a.txt", "before");
        using var ws = _box.Open(_box.Policy((AgentOperation.Overwrite, ApprovalMode.Auto)));
        await ws.WriteFileAsync("a.txt", "after"u8.ToArray());
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.DeleteAsync("a.txt"));
        return ws.RunId;
    }

    [Fact]
    public async Task RowsHoldTimeToolArgumentsDecisionResultAndContentHashes()
    {
        var runId = await MakeSomeRows();
        using var state = AgentStateStore.Open(_box.State);
        var rows = state.Audit.Read(runId);
        Assert.Equal(2, rows.Count);
        var write = rows[0];
        Assert.Equal(("write_file", AuditDecision.Allowed, "ok", "test"), (write.Tool, write.Decision, write.Result, write.Actor));
        Assert.Equal(Sha("before"), write.HashBefore);
        Assert.Equal(Sha("after"), write.HashAfter);
        var args = JsonNode.Parse(write.ArgumentsJson)!;
        Assert.Equal("a.txt", args["path"]!.GetValue<string>());
        Assert.Equal(5, args["bytes"]!.GetValue<int>());
        Assert.InRange(write.Time, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(("delete_file", AuditDecision.Denied, "refused"), (rows[1].Tool, rows[1].Decision, rows[1].Result));
        Assert.Equal(2, state.Audit.Verify());
    }

    [Fact]
    public async Task RowsCannotBeUpdatedOrDeleted()
    {
        var runId = await MakeSomeRows();
        using (var db = Raw())
        {
            foreach (var sql in new[] { "UPDATE audit SET decision = 'allowed' WHERE tool = 'delete_file'", "DELETE FROM audit", "DELETE FROM audit WHERE id = 1" })
            {
                using var cmd = db.CreateCommand();
                cmd.CommandText = sql;
                var e = Assert.Throws<SqliteException>(() => cmd.ExecuteNonQuery());
                Assert.Contains("append-only", e.Message);
            }
        }

        using var state = AgentStateStore.Open(_box.State);
        Assert.Equal(2, state.Audit.Read(runId).Count);
        Assert.Equal(AuditDecision.Denied, state.Audit.Read(runId)[1].Decision);
    }

    [Fact]
    public async Task AnEditAroundTheTriggersIsFoundByTheChain()
    {
        await MakeSomeRows();
        using (var db = Raw())
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DROP TRIGGER audit_no_update; UPDATE audit SET decision = 'allowed' WHERE tool = 'delete_file'";
            cmd.ExecuteNonQuery();
        }

        using var state = AgentStateStore.Open(_box.State);
        var e = Assert.Throws<AuditTamperedException>(() => state.Audit.Verify());
        Assert.Contains("row 2", e.Message);
    }

    [Fact]
    public async Task TheStateDirectoryIsHeldByOneProcessAtATime()
    {
        using var ws = _box.Open(_box.Policy());
        Assert.Throws<AgentStateBusyException>(() => AgentStateStore.Open(_box.State));
        await Task.CompletedTask;
    }
}
