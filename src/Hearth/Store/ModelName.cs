using System.Text;

namespace Hearth.Store;

/// <summary>
/// Rules for the names models have in the store, and the one mapping from a name to a file name. A valid name is
/// 1 to <see cref="MaxLength"/> characters of <c>a-z 0-9 . _ - : /</c> (upper case is folded to lower case), starts
/// with a letter or digit, has no empty, <c>.</c> or <c>..</c> component between <c>/</c> and <c>:</c>
/// separators, and no <c>..</c> anywhere. The file name replaces <c>/</c> by <c>+</c> and <c>:</c> by <c>@</c>
/// (characters a name cannot contain), so distinct names never share a file and no name can leave the store directory.
/// </summary>
public static class ModelName
{
    /// <summary>The longest name accepted, in characters.</summary>
    public const int MaxLength = 200;

    private static readonly string[] s_reservedDeviceNames = ["con", "prn", "aux", "nul"];

    /// <summary>Returns the name in its canonical (lower-case) form.</summary>
    /// <exception cref="InvalidModelNameException">The name breaks one of the rules; the message says which.</exception>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Check(name) is { } problem ? throw new InvalidModelNameException(Printable(name), problem) : name.ToLowerInvariant();
    }

    /// <summary>Whether <paramref name="name"/> is a valid store name (in any letter case).</summary>
    public static bool IsValid(string? name) => name != null && Check(name) == null;

    /// <summary>The file name stem (without extension) a valid name is stored under.</summary>
    /// <exception cref="InvalidModelNameException">The name is not valid.</exception>
    public static string FileStem(string name) => Normalize(name).Replace('/', '+').Replace(':', '@');

    private static string? Check(string name)
    {
        if (name.Length == 0) return "the name is empty";
        if (name.Length > MaxLength) return $"longer than {MaxLength} characters";
        foreach (char c in name)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-' or ':' or '/';
            if (!ok) return $"character '{(char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : c.ToString())}' is not allowed (use letters, digits and . _ - : /)";
        }

        if (!char.IsAsciiLetterOrDigit(name[0])) return "it must start with a letter or digit";
        if (name.Contains("..", StringComparison.Ordinal)) return "'..' is not allowed";
        foreach (var part in name.Split('/', ':'))
        {
            if (part.Length == 0) return "empty component between '/' or ':' separators";
            if (part == ".") return "'.' component is not allowed";
        }

        var first = name.Split('.', '/', ':')[0].ToLowerInvariant();
        bool device = s_reservedDeviceNames.Contains(first) || (first.Length == 4 && first[..3] is "com" or "lpt" && char.IsAsciiDigit(first[3]));
        if (device) return $"'{first}' is a reserved device name on Windows";
        return null;
    }

    private static string Printable(string name)
    {
        var sb = new StringBuilder();
        foreach (char c in name.Length > MaxLength ? name[..MaxLength] + "…" : name) sb.Append(char.IsControl(c) ? '?' : c);
        return sb.ToString();
    }
}
