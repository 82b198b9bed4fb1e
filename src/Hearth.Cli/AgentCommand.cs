using System.CommandLine;

namespace Hearth.Cli;

/// <summary><c>hearth agent</c>: on-device agents whose every action is checked against a permission policy, audited and undoable.</summary>
internal static class AgentCommand
{
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var agent = new Command("agent", "Run on-device agents under a permission policy (every action audited and undoable).");
        agent.Subcommands.Add(AgentOrganizeCommand.Create(stdin, stdout, stderr));
        agent.Subcommands.Add(AgentApplyCommand.Create(stdin, stdout, stderr));
        agent.Subcommands.Add(AgentRunCommand.Create(stdin, stdout, stderr));
        agent.Subcommands.Add(AgentJournalCommands.Undo(stdout));
        agent.Subcommands.Add(AgentJournalCommands.Recover(stdout));
        agent.Subcommands.Add(AgentJournalCommands.Runs(stdout));
        agent.Subcommands.Add(AgentJournalCommands.Log(stdout));
        agent.Subcommands.Add(AgentPolicyCommand.Create(stdout));
        agent.Subcommands.Add(AgentExtractCommand.Create(stdin, stdout, stderr));
        agent.Subcommands.Add(AgentCodeCommand.Create(stdin, stdout, stderr));
        return agent;
    }
}
