using Hearth.Agents.Approval;
using Hearth.Agents.Policy;
using Hearth.Agents.Tools;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hearth.Agents.Mcp;

/// <summary>
/// The built-in tools as an MCP server (the ModelContextProtocol package), so other agents can use them under the same
/// policy: every call goes through a <see cref="PolicyWorkspace"/> (path checks, journal, audit with actor "mcp").
/// Nobody can be asked over stdio, so operations whose mode is "ask" are refused unless the policy says
/// <c>mcp: { ask: approve }</c>. A refused or failed call is a tool result with <c>isError: true</c> and the reason,
/// not a protocol error, so the calling model can read it.
/// </summary>
public static class AgentMcpServer
{
    /// <summary>The workspace options an MCP session uses with <paramref name="policy"/>.</summary>
    public static PolicyWorkspaceOptions WorkspaceOptions(AgentPolicy policy) => new()
    {
        Actor = "mcp",
        Description = "hearth mcp",
        Approval = policy.McpAsk == McpAskMode.Approve ? FixedApprovalProvider.ApproveAll : FixedApprovalProvider.DenyAll,
    };

    /// <summary>The server options: server info and one MCP tool per built-in tool over <paramref name="workspace"/>.</summary>
    public static McpServerOptions ServerOptions(IAgentWorkspace workspace)
    {
        var tools = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var f in AgentTools.Create(workspace)) tools.Add(new FunctionTool(f));
        return new McpServerOptions
        {
            ServerInfo = new Implementation { Name = "hearth", Version = typeof(AgentMcpServer).Assembly.GetName().Version?.ToString() ?? "0" },
            ServerInstructions = "File tools over a workspace guarded by Hearth's permission policy. Every call is audited and undoable with 'hearth agent undo'.",
            ToolCollection = tools,
        };
    }

    /// <summary>Serves MCP over two streams (stdin and stdout for <c>hearth mcp</c>) until the client closes its end or <paramref name="cancel"/> fires.</summary>
    public static async Task RunAsync(IAgentWorkspace workspace, Stream input, Stream output, CancellationToken cancel = default)
    {
        await using var transport = new StreamServerTransport(input, output, "hearth");
        await using var server = McpServer.Create(transport, ServerOptions(workspace));
        await server.RunAsync(cancel).ConfigureAwait(false);
    }

    /// <summary>An MCP tool over an <see cref="AIFunction"/>: its name, description and input schema as they are; exceptions become error results.</summary>
    private sealed class FunctionTool(AIFunction function) : McpServerTool
    {
        public override Tool ProtocolTool { get; } = new()
        {
            Name = function.Name,
            Description = function.Description,
            InputSchema = function.JsonSchema,
        };

        public override IReadOnlyList<object> Metadata { get; } = [];

        public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
        {
            var arguments = new AIFunctionArguments();
            if (request.Params?.Arguments is { } given)
            {
                foreach (var (key, value) in given) arguments[key] = value;
            }

            try
            {
                var result = await function.InvokeAsync(arguments, cancellationToken).ConfigureAwait(false);
                return new CallToolResult { Content = [new TextContentBlock { Text = result?.ToString() ?? "" }] };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var text = e is PermissionDeniedException ? $"refused by the policy: {e.Message}" : $"error: {e.Message}";
                return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = text }] };
            }
        }
    }
}
