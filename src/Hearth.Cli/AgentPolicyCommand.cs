using System.CommandLine;
using Hearth.Agents.Policy;

namespace Hearth.Cli;

/// <summary><c>hearth agent policy [FILE]</c>: check a policy file and show what it allows, or print an example.</summary>
internal static class AgentPolicyCommand
{
    public static Command Create(TextWriter stdout)
    {
        var file = new Argument<string?>("file") { Description = "policy file to check (without it: print a commented example)", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("policy", "Check a permission policy file and print what it allows, or print an example policy.") { file };
        cmd.SetAction(r =>
        {
            if (r.GetValue(file) is not { } path)
            {
                stdout.WriteLine(AgentPolicyLoader.ExampleText);
                return 0;
            }

            var p = AgentPolicyLoader.Load(path);
            foreach (var root in p.Roots) stdout.WriteLine($"root  {root.Path} ({(root.Access == RootAccess.ReadOnly ? "read-only" : "read-write")})");
            foreach (var op in Enum.GetValues<AgentOperation>()) stdout.WriteLine($"{op.ToString().ToLowerInvariant(),-10} {p.ModeOf(op).ToString().ToLowerInvariant()}");
            foreach (var c in p.Commands) stdout.WriteLine($"command {c.Program}: {string.Join(" | ", c.Arguments.Select(a => a.Tokens.Count == 0 ? "(no arguments)" : a.ToString()))}");
            stdout.WriteLine($"state {p.StateDirectory}");
            stdout.WriteLine($"limits: {p.Limits.MaxSteps} steps, {p.Limits.MaxRunTime.TotalSeconds:0} s per run, {p.Limits.MaxFileBytes} bytes per file");
            return 0;
        });
        return cmd;
    }
}
