namespace Hearth.Agents;

/// <summary>Marks the Hearth.Agents assembly (tool runtime, permission policy, approvals, audit log, journal and undo, built-in tools).</summary>
public static class AgentsAssembly;
