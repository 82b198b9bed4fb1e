using System.Text;

namespace Hearth.Agents.Organizer;

/// <summary>File types for the organizer: a media type from a file's first bytes (else its extension), and the folder
/// each type is sorted into by the "by type" rule.</summary>
public static class FileTypes
{
    private static readonly Dictionary<string, (string MediaType, string Folder)> s_byExtension = new(StringComparer.Ordinal)
    {
        [".pdf"] = ("application/pdf", "Documents"),
        [".doc"] = ("application/msword", "Documents"),
        [".docx"] = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Documents"),
        [".odt"] = ("application/vnd.oasis.opendocument.text", "Documents"),
        [".rtf"] = ("application/rtf", "Documents"),
        [".xls"] = ("application/vnd.ms-excel", "Spreadsheets"),
        [".xlsx"] = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Spreadsheets"),
        [".ods"] = ("application/vnd.oasis.opendocument.spreadsheet", "Spreadsheets"),
        [".csv"] = ("text/csv", "Spreadsheets"),
        [".ppt"] = ("application/vnd.ms-powerpoint", "Presentations"),
        [".pptx"] = ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "Presentations"),
        [".odp"] = ("application/vnd.oasis.opendocument.presentation", "Presentations"),
        [".jpg"] = ("image/jpeg", "Images"),
        [".jpeg"] = ("image/jpeg", "Images"),
        [".png"] = ("image/png", "Images"),
        [".gif"] = ("image/gif", "Images"),
        [".webp"] = ("image/webp", "Images"),
        [".tif"] = ("image/tiff", "Images"),
        [".tiff"] = ("image/tiff", "Images"),
        [".heic"] = ("image/heic", "Images"),
        [".svg"] = ("image/svg+xml", "Images"),
        [".mp3"] = ("audio/mpeg", "Audio"),
        [".wav"] = ("audio/wav", "Audio"),
        [".flac"] = ("audio/flac", "Audio"),
        [".ogg"] = ("audio/ogg", "Audio"),
        [".m4a"] = ("audio/mp4", "Audio"),
        [".mp4"] = ("video/mp4", "Video"),
        [".mkv"] = ("video/x-matroska", "Video"),
        [".mov"] = ("video/quicktime", "Video"),
        [".webm"] = ("video/webm", "Video"),
        [".zip"] = ("application/zip", "Archives"),
        [".gz"] = ("application/gzip", "Archives"),
        [".tgz"] = ("application/gzip", "Archives"),
        [".tar"] = ("application/x-tar", "Archives"),
        [".7z"] = ("application/x-7z-compressed", "Archives"),
        [".txt"] = ("text/plain", "Text"),
        [".md"] = ("text/markdown", "Text"),
        [".log"] = ("text/plain", "Text"),
        [".json"] = ("application/json", "Text"),
        [".yaml"] = ("text/yaml", "Text"),
        [".yml"] = ("text/yaml", "Text"),
        [".xml"] = ("text/xml", "Text"),
        [".html"] = ("text/html", "Text"),
    };

    /// <summary>
    /// The media type: from magic bytes (PDF, PNG, JPEG, GIF, ZIP-based Office files, gzip), else the extension, else
    /// <c>text/plain</c> for valid UTF-8 without NUL bytes, else <c>application/octet-stream</c>.
    /// </summary>
    public static string Sniff(ReadOnlySpan<byte> head, string extension)
    {
        if (head.StartsWith("%PDF-"u8)) return "application/pdf";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])) return "image/png";
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "image/jpeg";
        if (head.StartsWith("GIF8"u8)) return "image/gif";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B])) return "application/gzip";
        if (head.StartsWith("PK\u0003\u0004"u8))
            return s_byExtension.TryGetValue(extension, out var office) && office.MediaType.Contains("officedocument") ? office.MediaType : "application/zip";
        if (s_byExtension.TryGetValue(extension, out var known)) return known.MediaType;
        if (head.Length > 0 && DecodeText(head) != null) return "text/plain";
        return "application/octet-stream";
    }

    /// <summary>The "by type" folder of a file.</summary>
    public static string Folder(string extension, string mediaType)
    {
        if (s_byExtension.TryGetValue(extension, out var known)) return known.Folder;
        if (mediaType.StartsWith("image/", StringComparison.Ordinal)) return "Images";
        if (mediaType == "application/pdf") return "Documents";
        if (mediaType.StartsWith("text/", StringComparison.Ordinal)) return "Text";
        return "Other";
    }

    /// <summary>UTF-8 text (a byte order mark dropped), or null when the bytes are not UTF-8 or hold NUL.</summary>
    public static string? DecodeText(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        if (bytes.Contains((byte)0)) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
