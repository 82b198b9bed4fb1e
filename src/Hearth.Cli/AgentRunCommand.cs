using System.CommandLine;
using Hearth.Agents.Runtime;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary><c>hearth agent run MODEL --policy FILE --task "..."</c>: a model doing a task with the built-in tools.</summary>
internal static class AgentRunCommand
{
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("model") { Description = "GGUF model file (an instruction-tuned model with tool calling)" };
        var task = new Option<string>("--task", "-t") { Description = "what to do", Required = true };
        var template = new Option<string?>("--template") { Description = "chat template file (default: the model's own)" };
        var seed = new Option<long?>("--seed") { Description = "sampling seed" };
        var maxTokens = new Option<int>("-n", "--n-predict") { Description = "most tokens per model call", DefaultValueFactory = _ => 1024 };
        var context = new Option<int>("--ctx", "-c") { Description = "context size in tokens (0 = the model's, capped); the tool declarations take room" };
        var forceTool = new Option<bool>("--force-tool") { Description = "make the first step call a tool (constrained decoding)" };
        var common = new AgentCliSupport();
        var cmd = new Command("run", "Let a model do a task with the file tools, every call checked against the policy, audited and undoable.")
        {
            model, task, template, seed, maxTokens, context, forceTool,
        };
        common.AddTo(cmd, changes: true);
        cmd.SetAction(async (r, cancel) =>
        {
            var policy = common.LoadPolicy(r);
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(context) });
            var chatTemplate = r.GetValue(template) is { } t ? ChatTemplate.Parse(File.ReadAllText(t)) : null;
            using var client = new HearthChatClient(lm, chatTemplate, new GrammarChatConstraints());
            using var ws = common.Open(r, policy, "model", $"run: {r.GetValue(task)}", stdin, stderr);
            var options = AgentRunOptions.FromLimits(policy.Limits) with
            {
                ChatOptions = new ChatOptions { Seed = r.GetValue(seed), MaxOutputTokens = r.GetValue(maxTokens), Temperature = 0.2f },
                FirstToolMode = r.GetValue(forceTool) ? ChatToolMode.RequireAny : null,
            };
            var result = await new AgentRuntime(client, ws, options).RunAsync(r.GetValue(task)!, cancel);
            foreach (var call in result.Calls) stdout.WriteLine($"call {call.Call.Name}: {call.Result.Result}");
            stdout.WriteLine(result.Answer);
            ws.Complete(result.Outcome.ToString());
            stderr.WriteLine($"run {ws.RunId}: {result.Outcome} after {result.Steps} steps; undo with 'hearth agent undo {ws.RunId}'");
            return result.Outcome == ToolLoopOutcome.Answered ? 0 : 2;
        });
        return cmd;
    }
}

/// <summary><c>hearth mcp --policy FILE</c>: the built-in tools as an MCP server over stdio.</summary>
internal static class McpCommand
{
    public static Command Create(TextWriter stderr)
    {
        var common = new AgentCliSupport();
        var cmd = new Command("mcp", "Serve the agent file tools over MCP (stdio) under a permission policy; 'ask' operations are refused unless the policy says mcp: { ask: approve }.");
        common.AddTo(cmd, changes: false);
        cmd.Options.First(o => o.Name == "--policy").Required = true;
        cmd.SetAction(async (r, cancel) =>
        {
            var policy = common.LoadPolicy(r);
            using var ws = Hearth.Agents.PolicyWorkspace.Open(policy, Hearth.Agents.Mcp.AgentMcpServer.WorkspaceOptions(policy));
            stderr.WriteLine($"hearth mcp: serving {string.Join(", ", policy.Roots.Select(x => x.Path))} (run {ws.RunId})");
            await using var input = Console.OpenStandardInput();
            await using var output = Console.OpenStandardOutput();
            await Hearth.Agents.Mcp.AgentMcpServer.RunAsync(ws, input, output, cancel);
            ws.Complete("client disconnected");
            return 0;
        });
        return cmd;
    }
}
