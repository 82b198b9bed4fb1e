using System.Text;

namespace Hearth.Agents.Documents;

/// <summary>Decodes .txt and .md files: UTF-8 with or without a byte-order mark, or UTF-16 with one. Binary is refused.</summary>
internal static class PlainText
{
    private static readonly Encoding s_utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly Encoding s_utf16Le = new UnicodeEncoding(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true);
    private static readonly Encoding s_utf16Be = new UnicodeEncoding(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true);

    /// <exception cref="CorruptDocumentException">The bytes are not UTF-8 (or BOM-marked UTF-16) text, or hold NUL characters (binary).</exception>
    public static string Decode(string name, ReadOnlySpan<byte> bytes)
    {
        var (encoding, skip, label) = bytes switch
        {
            [0xEF, 0xBB, 0xBF, ..] => (s_utf8, 3, "UTF-8"),
            [0xFF, 0xFE, ..] => (s_utf16Le, 2, "UTF-16"),
            [0xFE, 0xFF, ..] => (s_utf16Be, 2, "UTF-16"),
            _ => (s_utf8, 0, "UTF-8"),
        };
        string text;
        try
        {
            text = encoding.GetString(bytes[skip..]);
        }
        catch (DecoderFallbackException)
        {
            throw new CorruptDocumentException($"{name}: not {label} text (invalid byte sequences; binary data, or another encoding such as Shift_JIS: save it as UTF-8)");
        }

        if (text.Contains('\0')) throw new CorruptDocumentException($"{name}: holds NUL characters, so it is binary data, not text");
        return text;
    }
}
