namespace Hearth.Gguf;

/// <summary>
/// A GGUF file is malformed. The message names the file, the byte offset or tensor, and the problem.
/// </summary>
public sealed class GgufFormatException : HearthException
{
    public GgufFormatException(string path, long offset, string problem)
        : base($"{path}: at offset {offset}: {problem}")
    {
        FilePath = path;
        Offset = offset;
        Problem = problem;
    }

    public GgufFormatException(string path, string tensorName, string problem)
        : base($"{path}: tensor '{tensorName}': {problem}")
    {
        FilePath = path;
        Offset = -1;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>The file that failed to parse.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the problem, or -1 when it concerns a whole tensor.</summary>
    public long Offset { get; }

    /// <summary>The tensor concerned, when there is one.</summary>
    public string? TensorName { get; }

    /// <summary>The problem alone, without file and position.</summary>
    public string Problem { get; }
}
