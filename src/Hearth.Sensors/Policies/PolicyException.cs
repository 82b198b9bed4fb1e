namespace Hearth.Sensors;

/// <summary>A monitor policy file is not valid. The message starts with <c>FILE:LINE:COLUMN:</c> and says what to change.</summary>
public sealed class PolicyException(string file, int line, int column, string problem, Exception? inner = null)
    : PolicyFileException(file, line, column, problem, inner);
