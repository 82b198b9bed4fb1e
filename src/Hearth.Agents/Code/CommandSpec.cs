using System.Text;

namespace Hearth.Agents.Code;

/// <summary>A program and its arguments, run without a shell (through <see cref="IAgentWorkspace.RunCommandAsync"/>).</summary>
/// <param name="Program">The program, as the permission policy's allow-list names it (such as <c>dotnet</c>).</param>
/// <param name="Arguments">Its arguments, each passed as one argument.</param>
public sealed record CommandSpec(string Program, IReadOnlyList<string> Arguments)
{
    /// <summary>
    /// Splits a command line the way a POSIX shell splits words, without any of its expansions: whitespace separates
    /// arguments; single quotes keep everything literally; double quotes keep everything but <c>\"</c> and <c>\\</c>;
    /// outside quotes a backslash keeps the next character. <c>dotnet test --filter "A B"</c> is <c>dotnet</c> with
    /// <c>test</c>, <c>--filter</c> and <c>A B</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The line is empty or has an unclosed quote.</exception>
    public static CommandSpec Parse(string commandLine)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(word.ToString());
                word.Clear();
                inWord = false;
                continue;
            }

            inWord = true;
            if (c == '\'')
            {
                int close = commandLine.IndexOf('\'', i + 1);
                if (close < 0) throw new ArgumentException($"the command line '{commandLine}' has an unclosed single quote", nameof(commandLine));
                word.Append(commandLine, i + 1, close - i - 1);
                i = close;
            }
            else if (c == '"')
            {
                for (i++; ; i++)
                {
                    if (i >= commandLine.Length) throw new ArgumentException($"the command line '{commandLine}' has an unclosed double quote", nameof(commandLine));
                    if (commandLine[i] == '"') break;
                    if (commandLine[i] == '\\' && i + 1 < commandLine.Length && commandLine[i + 1] is ('"' or '\\')) i++;
                    word.Append(commandLine[i]);
                }
            }
            else if (c == '\\' && i + 1 < commandLine.Length)
            {
                word.Append(commandLine[++i]);
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord) words.Add(word.ToString());
        if (words.Count == 0) throw new ArgumentException("the command line is empty", nameof(commandLine));
        return new CommandSpec(words[0], words[1..]);
    }

    /// <summary>The command as one line, arguments with spaces or quotes single-quoted.</summary>
    public override string ToString() => string.Join(' ', new[] { Program }.Concat(Arguments).Select(Quote));

    private static string Quote(string word) =>
        word.Length > 0 && !word.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '\\') ? word : "'" + word.Replace("'", "'\\''") + "'";
}
