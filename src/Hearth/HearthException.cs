namespace Hearth;

/// <summary>Base of every error Hearth's library raises on purpose; the message says what is wrong and where.</summary>
public class HearthException : Exception
{
    public HearthException(string message) : base(message) { }

    public HearthException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model file is not a usable model: an unknown architecture, a missing or misshapen tensor, a bad hyper-parameter.</summary>
public class ModelFormatException : HearthException
{
    public ModelFormatException(string message) : base(message) { }
}

/// <summary>A policy or configuration file is not valid. The message starts with <c>FILE:LINE:COLUMN:</c> and says what to change.</summary>
public class PolicyFileException : HearthException
{
    public PolicyFileException(string file, int line, int column, string problem, Exception? inner = null)
        : base($"{file}:{line}:{column}: {problem}", inner ?? new InvalidOperationException(problem))
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The file's name (or the name given for text).</summary>
    public string File { get; }

    /// <summary>The 1-based line of the problem.</summary>
    public int Line { get; }

    /// <summary>The 1-based column of the problem.</summary>
    public int Column { get; }

    /// <summary>The problem without its location.</summary>
    public string Problem { get; }
}
