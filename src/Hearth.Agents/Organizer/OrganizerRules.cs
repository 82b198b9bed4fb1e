using System.Globalization;
using System.Text.RegularExpressions;

namespace Hearth.Agents.Organizer;

/// <summary>A kind of document a rule can sort (invoices, receipts, ...), recognised by words in its name or text.</summary>
/// <param name="Folder">The folder it goes to ("Invoices").</param>
/// <param name="Words">Words (any language) that mark it, matched as whole words, ignoring case.</param>
public sealed record DocumentCategory(string Folder, IReadOnlyList<string> Words)
{
    /// <summary>The categories the instructions can name.</summary>
    public static IReadOnlyList<DocumentCategory> All { get; } =
    [
        new("Invoices", ["invoice", "invoices", "rechnung", "facture", "factura", "fattura", "factuur"]),
        new("Receipts", ["receipt", "receipts", "quittung", "kassenbon", "reçu", "recibo"]),
        new("Statements", ["statement", "statements", "kontoauszug"]),
        new("Contracts", ["contract", "contracts", "agreement", "vertrag"]),
    ];

    private Regex Pattern => new(@"(?<![\p{L}\p{N}])(" + string.Join("|", Words.Select(Regex.Escape)) + @")(?![\p{L}\p{N}])",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>True when the text holds one of the words.</summary>
    public bool Matches(string text) => Pattern.IsMatch(text);
}

/// <summary>
/// The deterministic rules read from the organizer's instructions. They hold whatever a model proposes: a model's plan
/// is corrected to obey them, and files a rule covers are sorted by it even when the model forgets them.
/// <list type="bullet">
/// <item>"CATEGORY by year" (invoices, receipts, statements, contracts; also "per year"): files of that category go to
/// <c>Category/YYYY/</c>, the year taken from a date in the text (an "invoice date" line first), else the name, else
/// the file's modification time.</item>
/// <item>"keep originals" ("keep the originals", "copy", "do not move", "don't delete"): every step is a copy; nothing
/// is moved or deleted.</item>
/// <item>"by type" ("by file type", "by kind", "by extension"): files no other rule covers go to a folder for their type
/// (Documents, Images, Spreadsheets, ...).</item>
/// <item>"date prefix" ("prefix ... date", "rename ... date"): names get the document's date in front (<c>2024-03-15 name.pdf</c>).</item>
/// </list>
/// </summary>
public sealed record OrganizerRules
{
    /// <summary>Categories sorted into <c>Category/YYYY/</c>.</summary>
    public IReadOnlyList<DocumentCategory> ByYear { get; init; } = [];

    /// <summary>Copy instead of move; never delete.</summary>
    public bool KeepOriginals { get; init; }

    /// <summary>Sort the remaining files into type folders.</summary>
    public bool ByType { get; init; }

    /// <summary>Put the document's date in front of its name.</summary>
    public bool DatePrefix { get; init; }

    /// <summary>Reads the rules from free-text instructions (English phrases; see the type's remarks).</summary>
    public static OrganizerRules Parse(string instructions)
    {
        var text = instructions.ToLowerInvariant();
        var byYear = DocumentCategory.All
            .Where(c => Regex.IsMatch(text, @"\b(" + string.Join("|", c.Words.Select(Regex.Escape)) + @")\b[^.;\n]{0,40}?\b(by|per|into|in)\s+(the\s+)?years?\b"))
            .ToList();
        bool keep = Regex.IsMatch(text, @"\bkeep\b[^.;\n]{0,20}\boriginals?\b|\b(do not|don't|dont|never)\s+(move|delete|remove)\b|\bcop(y|ies)\b(?![^.;\n]*\bnot\b)");
        bool byType = Regex.IsMatch(text, @"\bby\s+(file\s+)?(type|kind|extension|format)s?\b");
        bool datePrefix = Regex.IsMatch(text, @"\b(prefix|rename|start)\b[^.;\n]{0,40}\bdates?\b|\bdate[- ]prefix");
        return new OrganizerRules { ByYear = byYear, KeepOriginals = keep, ByType = byType, DatePrefix = datePrefix };
    }

    /// <summary>The rules as short sentences, for the plan header.</summary>
    public IReadOnlyList<string> Describe()
    {
        var lines = ByYear.Select(c => $"{c.Folder.ToLowerInvariant()} by year -> {c.Folder}/YYYY/").ToList();
        if (ByType) lines.Add("other files by type -> Documents/, Images/, ...");
        if (DatePrefix) lines.Add("names start with the document's date");
        if (KeepOriginals) lines.Add("keep originals: copy, never move or delete");
        return lines;
    }
}

/// <summary>Finds the date a document is about: in its text (an "invoice date" line first, not a due date), its name,
/// or else its modification time.</summary>
public static partial class DocumentDates
{
    private static readonly string[] s_months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    /// <summary>The document's date and where it came from ("text", "name" or "modified").</summary>
    public static (DateOnly Date, string Source) Find(string name, string? text, DateTime modified)
    {
        if (text != null)
        {
            var lines = text.Split('\n');
            foreach (var line in lines.Where(l => DateLine().IsMatch(l) && !DueLine().IsMatch(l)))
            {
                if (FirstDate(line) is { } d) return (d, "text");
            }

            if (FirstDate(text) is { } any) return (any, "text");
        }

        if (FirstDate(name) is { } fromName) return (fromName, "name");
        var year = YearInName().Match(name);
        if (year.Success) return (new DateOnly(int.Parse(year.Value, CultureInfo.InvariantCulture), 1, 1), "name");
        return (DateOnly.FromDateTime(modified), "modified");
    }

    /// <summary>The first valid date in a text: ISO (2024-03-15), day.month.year or day/month/year, or with a month name.</summary>
    public static DateOnly? FirstDate(string text)
    {
        var best = (Index: int.MaxValue, Date: (DateOnly?)null);
        void Consider(MatchCollection matches, Func<Match, DateOnly?> read)
        {
            foreach (Match m in matches)
            {
                if (read(m) is not { } d) continue;
                if (m.Index < best.Index) best = (m.Index, d);
                return;
            }
        }

        Consider(IsoDate().Matches(text), m => Make(m.Groups["y"].Value, m.Groups["m"].Value, m.Groups["d"].Value));
        // Day first (15.03.2024, 15/03/2024); a month over 12 means the American order (03/15/2024).
        Consider(NumericDate().Matches(text), m => Make(m.Groups["y"].Value, m.Groups["m"].Value, m.Groups["d"].Value)
            ?? Make(m.Groups["y"].Value, m.Groups["d"].Value, m.Groups["m"].Value));
        Consider(MonthNameDate().Matches(text), m =>
        {
            var month = Array.IndexOf(s_months, m.Groups["mon"].Value[..3].ToLowerInvariant()) + 1;
            var day = m.Groups["d1"].Success ? m.Groups["d1"].Value : m.Groups["d2"].Value;
            return month > 0 ? Make(m.Groups["y"].Value, month.ToString(CultureInfo.InvariantCulture), day) : null;
        });
        return best.Date;
    }

    private static DateOnly? Make(string y, string m, string d)
    {
        int year = int.Parse(y, CultureInfo.InvariantCulture), month = int.Parse(m, CultureInfo.InvariantCulture), day = int.Parse(d, CultureInfo.InvariantCulture);
        return month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month) ? new DateOnly(year, month, day) : null;
    }

    [GeneratedRegex(@"(?<!\d)(?<y>(19|20)\d{2})[-_.](?<m>\d{1,2})[-_.](?<d>\d{1,2})(?!\d)")]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"(?<!\d)(?<d>\d{1,2})[./](?<m>\d{1,2})[./](?<y>(19|20)\d{2})(?!\d)")]
    private static partial Regex NumericDate();

    [GeneratedRegex(@"(?i)(?:(?<d1>\d{1,2})\.?\s+(?<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?<y>(19|20)\d{2}))|(?:(?<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?<d2>\d{1,2})(st|nd|rd|th)?,?\s+(?<y>(19|20)\d{2}))")]
    private static partial Regex MonthNameDate();

    [GeneratedRegex(@"(?i)\b(date|datum|dated|issued)\b")]
    private static partial Regex DateLine();

    [GeneratedRegex(@"(?i)\b(due|payable|fällig|expir)")]
    private static partial Regex DueLine();

    [GeneratedRegex(@"(?<!\d)(19|20)\d{2}(?!\d)")]
    private static partial Regex YearInName();
}
