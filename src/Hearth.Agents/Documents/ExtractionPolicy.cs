using Hearth.Agents.Policy;

namespace Hearth.Agents.Documents;

/// <summary>The permission policy <c>hearth agent extract</c> runs under when no policy file is given.</summary>
public static class ExtractionPolicy
{
    /// <summary>
    /// The narrowest policy a documents-to-workbook job runs under, so every read and the workbook's write are still
    /// checked, audited, and (the write) undoable:
    /// <list type="bullet">
    /// <item>the documents' folder is the first root, read-only;</item>
    /// <item>the workbook's folder is a read-write root (when it does not exist yet, its nearest existing parent; the
    /// write creates the rest, journalled, so undo removes it again). When that is the documents' folder itself, the
    /// one root is read-write; a deeper root decides, so a workbook folder inside the documents' folder leaves the rest
    /// of it read-only, and one above it leaves the documents' folder read-only;</item>
    /// <item>reading and creating files are automatic; overwriting a file (an existing workbook) is asked for; moving,
    /// deleting and running programs are denied;</item>
    /// <item>files of up to <paramref name="maxFileBytes"/> may be read (the job's own limit, so the policy does not
    /// narrow it).</item>
    /// </list>
    /// </summary>
    /// <param name="directory">The documents' folder.</param>
    /// <param name="outputPath">The workbook to write.</param>
    /// <param name="stateDirectory">Where the audit log and journal live; null for <see cref="AgentPolicyLoader.DefaultStateDirectory"/>.</param>
    /// <param name="maxFileBytes">The largest file read or written; by default <see cref="DocumentTextOptions.MaxFileBytes"/>.</param>
    /// <exception cref="DirectoryNotFoundException">The documents' folder does not exist.</exception>
    public static AgentPolicy For(string directory, string outputPath, string? stateDirectory = null, long? maxFileBytes = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(outputPath);
        var documents = PathGuard.ResolveRoot(directory);
        var folder = Path.GetDirectoryName(Path.GetFullPath(outputPath)) ?? throw new ArgumentException($"'{outputPath}' names no file", nameof(outputPath));
        while (!Directory.Exists(folder)) folder = Path.GetDirectoryName(folder) ?? throw new DirectoryNotFoundException($"no folder of '{outputPath}' exists");
        var writable = PathGuard.ResolveRoot(folder);
        IReadOnlyList<WorkspaceRoot> roots = writable == documents
            ? [new WorkspaceRoot(documents, RootAccess.ReadWrite)]
            : [new WorkspaceRoot(documents, RootAccess.ReadOnly), new WorkspaceRoot(writable, RootAccess.ReadWrite)];
        long limit = maxFileBytes ?? new DocumentTextOptions().MaxFileBytes;
        return new AgentPolicy
        {
            Roots = roots,
            Operations = AgentPolicy.Modes(read: ApprovalMode.Auto, create: ApprovalMode.Auto, move: ApprovalMode.Deny, overwrite: ApprovalMode.Ask,
                delete: ApprovalMode.Deny, run: ApprovalMode.Deny),
            Limits = new PolicyLimits { MaxFileBytes = limit },
            StateDirectory = Path.GetFullPath(stateDirectory ?? AgentPolicyLoader.DefaultStateDirectory()),
        };
    }
}
