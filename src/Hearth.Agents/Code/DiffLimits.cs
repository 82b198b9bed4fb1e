namespace Hearth.Agents.Code;

/// <summary>
/// Bounds on a diff and on the files it patches, checked before anything is allocated from them, so a hostile or
/// runaway diff (a model's output) cannot exhaust memory or time.
/// </summary>
public sealed record DiffLimits
{
    /// <summary>The defaults: a 1 MiB diff, 64 files, 1,000 hunks per file, 8 MiB per patched file, fuzz 2.</summary>
    public static DiffLimits Default { get; } = new();

    /// <summary>Most characters in a diff's text.</summary>
    public int MaxDiffChars { get; init; } = 1 << 20;

    /// <summary>Most files one diff may touch.</summary>
    public int MaxFiles { get; init; } = 64;

    /// <summary>Most hunks for one file.</summary>
    public int MaxHunksPerFile { get; init; } = 1000;

    /// <summary>Most bytes in a file to patch, before and after patching.</summary>
    public int MaxFileBytes { get; init; } = 8 << 20;

    /// <summary>
    /// How many context lines at each end of a hunk may be ignored when it does not match exactly (patch(1)'s fuzz
    /// factor, 0..3). Removed lines are never ignored.
    /// </summary>
    public int MaxFuzz { get; init; } = 2;

    /// <summary>How far (in lines) from its stated position a hunk is searched for; the whole file by default.</summary>
    public int MaxOffset { get; init; } = int.MaxValue;

    /// <summary>Checks that every bound is usable.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A bound is not positive, or the fuzz is outside 0..3.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDiffChars, 1, nameof(MaxDiffChars));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFiles, 1, nameof(MaxFiles));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHunksPerFile, 1, nameof(MaxHunksPerFile));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFileBytes, 1, nameof(MaxFileBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOffset, 0, nameof(MaxOffset));
        if (MaxFuzz is < 0 or > 3) throw new ArgumentOutOfRangeException(nameof(MaxFuzz), $"fuzz {MaxFuzz} must be within 0..3");
    }
}
