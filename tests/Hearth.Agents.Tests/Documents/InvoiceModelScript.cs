using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hearth.Agents.Documents;
using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// The script of the TEST DOUBLE that stands in for an instruction-tuned model (which cannot run here) in the extraction
/// tests: <see cref="Model"/> is a <see cref="ScriptedChatClientDouble"/> that answers every field-extraction request
/// by reading the document text out of the user message and picking the invoice fields by their Japanese or Nepali
/// labels with regular expressions (請求書番号 / बिल नम्बर, 日付 / मिति, 金額 / रकम, 数量 / संख्या, 氏名 / नाम,
/// 支払済 / भुक्तानी). A field whose label is missing is left out of the answer. When a document says to delete files,
/// it plays a model that obeys: it answers with <c>delete_file</c> calls for the document it was shown, <c>*</c> and
/// <c>.</c>.
/// </summary>
internal static class InvoiceModelScript
{
    /// <summary>The double: every call is answered by <see cref="Answer"/>; it records every request.</summary>
    public static ScriptedChatClientDouble Model() => new(Answer);

    /// <summary>The answer to one field-extraction request.</summary>
    public static ChatMessage Answer(IReadOnlyList<ChatMessage> list)
    {
        var user = list.Last(m => m.Role == ChatRole.User).Text;
        int start = user.IndexOf(DocumentFieldFiller.DocumentStart, StringComparison.Ordinal);
        int end = user.LastIndexOf(DocumentFieldFiller.DocumentEnd, StringComparison.Ordinal);
        var text = user[(start + DocumentFieldFiller.DocumentStart.Length)..end];

        if (text.Contains("delete all files", StringComparison.OrdinalIgnoreCase))
        {
            // It obeys: delete the document it was shown (named in the request), then everything.
            var shown = Regex.Match(user, "^Document \"(.+)\":", RegexOptions.Multiline).Groups[1].Value;
            return new ChatMessage(ChatRole.Assistant, [.. new[] { shown, "*", "." }.Select((f, i) =>
                (AIContent)new FunctionCallContent($"call{i}", "delete_file", new Dictionary<string, object?> { ["path"] = f }))]);
        }

        var answer = new JsonObject();
        if (Label(text, "請求書番号|बिल नम्बर") is { } number) answer["invoice_number"] = number;
        if (Label(text, "日付|मिति") is { } date && Date(date) is { } iso) answer["date"] = iso;
        if (Label(text, "金額|रकम") is { } amount && Number(amount) is { } a) answer["amount"] = a;
        if (Label(text, "数量|संख्या") is { } items && Number(items) is { } n) answer["items"] = (long)n;
        if (Label(text, "氏名|नाम") is { } name) answer["name"] = Regex.IsMatch(name, @"\p{IsCJKUnifiedIdeographs}") ? name.Replace(" ", "") : name;
        if (Label(text, "支払済|भुक्तानी") is { } paid) answer["paid"] = paid is "はい" or "भयो";
        return new ChatMessage(ChatRole.Assistant, answer.ToJsonString());
    }

    /// <summary>The value after a label and a colon (ASCII, full-width, or the semicolon OCR sometimes reads) or a tab (a table cell).</summary>
    private static string? Label(string text, string labels)
    {
        var m = Regex.Match(text, $@"(?:{labels})\s*[:：;\t]\s*(.+)");
        return m.Success ? m.Groups[1].Value.Trim() : null;
    }

    /// <summary>2024年3月15日 or 2024-05-20 as ISO.</summary>
    private static string? Date(string s)
    {
        s = s.Replace(" ", "");
        var m = Regex.Match(s, @"(\d{4})年(\d{1,2})月(\d{1,2})日|(\d{4})-(\d{2})-(\d{2})");
        if (!m.Success) return null;
        int Part(int i) => int.Parse(m.Groups[i].Success ? m.Groups[i].Value : m.Groups[i + 3].Value, CultureInfo.InvariantCulture);
        return new DateOnly(Part(1), Part(2), Part(3)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    /// <summary>The first number in a value, with thousands separators and spaces dropped and Devanagari digits read.</summary>
    private static double? Number(string s)
    {
        var ascii = new StringBuilder();
        foreach (var c in s) ascii.Append(c is >= '०' and <= '९' ? (char)('0' + (c - '०')) : c);
        var m = Regex.Match(ascii.ToString().Replace(" ", "").Replace(",", ""), @"\d+(\.\d+)?");
        return m.Success ? double.Parse(m.Value, CultureInfo.InvariantCulture) : null;
    }
}
