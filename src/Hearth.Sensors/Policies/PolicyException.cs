namespace Hearth.Sensors;

/// <summary>A policy file is not valid. The message starts with <c>FILE:LINE:COLUMN:</c> and says what to change.</summary>
public sealed class PolicyException : HearthException
{
    public PolicyException(string file, int line, int column, string problem, Exception? inner = null)
        : base($"{file}:{line}:{column}: {problem}", inner ?? new InvalidOperationException(problem))
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The policy file's name (or the name given for text).</summary>
    public string File { get; }

    /// <summary>The 1-based line of the problem.</summary>
    public int Line { get; }

    /// <summary>The 1-based column of the problem.</summary>
    public int Column { get; }

    /// <summary>The problem without its location.</summary>
    public string Problem { get; }
}
