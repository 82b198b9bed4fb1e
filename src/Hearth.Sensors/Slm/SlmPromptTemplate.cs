using System.Text;

namespace Hearth.Sensors.Slm;

/// <summary>
/// A check's prompt template, split into literal text and <c>{name}</c> placeholders; <c>{{</c> and <c>}}</c> stand for
/// literal braces. Parsing and rendering share this one definition so the loader accepts exactly what rendering fills in.
/// </summary>
internal sealed class SlmPromptTemplate
{
    /// <summary>The placeholders every check may use, besides the names of the policy's signals.</summary>
    public static readonly string[] Reserved = [Text, Label, Rule, Signals, Source, Time];

    public const string Text = "text";
    public const string Label = "label";
    public const string Rule = "rule";
    public const string Signals = "signals";
    public const string Source = "source";
    public const string Time = "time";

    // Literal text has Name null (and Offset -1); a placeholder has its name and the offset of its '{'.
    private readonly (string? Name, string Text, int Offset)[] _parts;

    private SlmPromptTemplate((string? Name, string Text, int Offset)[] parts) => _parts = parts;

    /// <summary>The placeholders in order, with the offset of their opening brace in the template.</summary>
    public IEnumerable<(string Name, int Offset)> Placeholders => _parts.Where(p => p.Name != null).Select(p => (p.Name!, p.Offset));

    /// <summary>The literal text before the first placeholder (all of it when there is none): what every rendering of the
    /// template starts with.</summary>
    public string Head => string.Concat(_parts.TakeWhile(p => p.Name == null).Select(p => p.Text));

    /// <summary>Splits a template; on a syntax error returns null with the error's offset and a description.</summary>
    public static SlmPromptTemplate? TryParse(string template, out int errorOffset, out string? error)
    {
        var parts = new List<(string?, string, int)>();
        var literal = new StringBuilder();
        errorOffset = 0;
        error = null;
        int i = 0;
        while (i < template.Length)
        {
            char c = template[i];
            if (c == '}')
            {
                if (i + 1 < template.Length && template[i + 1] == '}')
                {
                    literal.Append('}');
                    i += 2;
                    continue;
                }

                (errorOffset, error) = (i, "a '}' without its '{' (write '}}' for a literal brace)");
                return null;
            }

            if (c != '{')
            {
                literal.Append(c);
                i++;
                continue;
            }

            if (i + 1 < template.Length && template[i + 1] == '{')
            {
                literal.Append('{');
                i += 2;
                continue;
            }

            int close = template.IndexOf('}', i + 1);
            if (close < 0)
            {
                (errorOffset, error) = (i, "a '{' without its '}' (write '{{' for a literal brace)");
                return null;
            }

            var name = template[(i + 1)..close].Trim();
            if (name.Length == 0 || name.Contains('{'))
            {
                (errorOffset, error) = (i, $"'{template[i..(close + 1)]}' is not a placeholder (write '{{{{' for a literal brace)");
                return null;
            }

            if (literal.Length > 0) parts.Add((null, literal.ToString(), -1));
            literal.Clear();
            parts.Add((name, "", i));
            i = close + 1;
        }

        if (literal.Length > 0) parts.Add((null, literal.ToString(), -1));
        return new SlmPromptTemplate(parts.ToArray());
    }

    /// <summary>The template with every placeholder replaced by <paramref name="value"/>(name).</summary>
    public string Render(Func<string, string> value)
    {
        var sb = new StringBuilder();
        foreach (var (name, text, _) in _parts) sb.Append(name == null ? text : value(name));
        return sb.ToString();
    }
}
