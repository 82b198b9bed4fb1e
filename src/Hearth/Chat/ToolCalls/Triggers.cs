namespace Hearth.Chat.ToolCalls;

/// <summary>What a trigger makes of the text at one position.</summary>
internal enum TriggerKind
{
    /// <summary>Nothing starts here.</summary>
    None,

    /// <summary>The text so far is a prefix of something that would match: hold it until more arrives.</summary>
    Partial,

    /// <summary>A format marker to drop from content (<c>&gt;&gt;&gt;all\n</c>, an end-of-turn token); the length is in the result.</summary>
    Skip,

    /// <summary>A tool call begins here.</summary>
    CallStart,
}

internal readonly record struct TriggerResult(TriggerKind Kind, int Length = 0)
{
    public static readonly TriggerResult None = new(TriggerKind.None);
    public static readonly TriggerResult Partial = new(TriggerKind.Partial);
}

/// <summary>
/// One thing that can begin at a position of the output. The same triggers drive the stream filter (what to hold back)
/// and mark where <see cref="ToolCallParser"/> looks for calls, so streamed content is always a prefix of parsed content.
/// </summary>
internal abstract class Trigger
{
    /// <param name="text">All text so far.</param>
    /// <param name="i">The position examined.</param>
    /// <param name="atStart">Whether <paramref name="i"/> is the first non-whitespace character of the content (after reasoning).</param>
    public abstract TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart);
}

/// <summary>A literal that starts a call, or a marker to skip, anywhere.</summary>
internal sealed class LiteralTrigger(string literal, TriggerKind kind) : Trigger
{
    public string Literal { get; } = literal;

    public TriggerKind Kind { get; } = kind;

    public override TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart)
    {
        return Patterns.Literal(text, i, Literal) switch
        {
            Patterns.Match.Yes => new TriggerResult(Kind, Literal.Length),
            Patterns.Match.Partial => TriggerResult.Partial,
            _ => TriggerResult.None,
        };
    }
}

/// <summary>A JSON call object (<c>{"name": ...</c>, optionally after <c>"type": "function",</c>) opening the content.</summary>
internal sealed class StartJsonCallTrigger : Trigger
{
    public static readonly StartJsonCallTrigger Instance = new();

    public override TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart)
    {
        if (!atStart) return TriggerResult.None;
        return Patterns.JsonCallStart(text, i) switch
        {
            Patterns.Match.Yes => new TriggerResult(TriggerKind.CallStart),
            Patterns.Match.Partial => TriggerResult.Partial,
            _ => TriggerResult.None,
        };
    }
}

/// <summary>Any JSON value (or a <c>```</c> fence) opening the content: the Generic format answers in JSON.</summary>
internal sealed class StartAnyJsonTrigger : Trigger
{
    public static readonly StartAnyJsonTrigger Instance = new();

    public override TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart)
    {
        if (!atStart) return TriggerResult.None;
        if (text[i] is '{' or '[') return new TriggerResult(TriggerKind.CallStart);
        return Patterns.Literal(text, i, "```") switch
        {
            Patterns.Match.Yes => new TriggerResult(TriggerKind.CallStart),
            Patterns.Match.Partial => TriggerResult.Partial,
            _ => TriggerResult.None,
        };
    }
}

/// <summary>Functionary v3.2's recipients: <c>all\n</c> (skipped) or <c>name\n{</c> / <c>python\n</c> (a call), at the start or after <c>&gt;&gt;&gt;</c>.</summary>
internal sealed class FunctionaryTrigger : Trigger
{
    public static readonly FunctionaryTrigger Instance = new();

    public override TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart)
    {
        switch (Patterns.Literal(text, i, ">>>"))
        {
            case Patterns.Match.Partial:
                return TriggerResult.Partial;
            case Patterns.Match.Yes:
                var after = Patterns.Recipient(text, i + 3);
                return after.Kind switch
                {
                    Patterns.RecipientKind.All => new TriggerResult(TriggerKind.Skip, 3 + after.Length),
                    Patterns.RecipientKind.Call => new TriggerResult(TriggerKind.CallStart),
                    Patterns.RecipientKind.Partial => TriggerResult.Partial,
                    _ => TriggerResult.None,
                };
        }

        if (!atStart) return TriggerResult.None;
        var r = Patterns.Recipient(text, i);
        return r.Kind switch
        {
            Patterns.RecipientKind.All => new TriggerResult(TriggerKind.Skip, r.Length),
            Patterns.RecipientKind.Call => new TriggerResult(TriggerKind.CallStart),
            Patterns.RecipientKind.Partial => TriggerResult.Partial,
            _ => TriggerResult.None,
        };
    }
}

/// <summary>Small matchers shared by the triggers and the parsers.</summary>
internal static class Patterns
{
    public enum Match
    {
        No,
        Partial,
        Yes,
    }

    public enum RecipientKind
    {
        None,
        Partial,
        All,
        Call,
    }

    public readonly record struct RecipientMatch(RecipientKind Kind, int Length = 0, int NameLength = 0);

    /// <summary>Whether <paramref name="literal"/> is at <paramref name="i"/>, or the text ends inside a prefix of it.</summary>
    public static Match Literal(ReadOnlySpan<char> text, int i, string literal)
    {
        var rest = text[i..];
        if (rest.Length >= literal.Length) return rest.StartsWith(literal, StringComparison.Ordinal) ? Match.Yes : Match.No;
        return literal.AsSpan().StartsWith(rest, StringComparison.Ordinal) ? Match.Partial : Match.No;
    }

    private static readonly string[] s_plainCallStart = ["{", "\"name\"", ":"];
    private static readonly string[] s_typedCallStart = ["{", "\"type\"", ":", "\"function\"", ",", "\"name\"", ":"];

    /// <summary>
    /// <c>{ "name" :</c> or <c>{ "type" : "function" , "name" :</c> with any whitespace between the tokens: what a JSON tool call
    /// starts with (the same opening llama.cpp's Llama 3.x parser looks for).
    /// </summary>
    public static Match JsonCallStart(ReadOnlySpan<char> text, int i)
    {
        var a = Tokens(text, i, s_plainCallStart);
        if (a == Match.Yes) return Match.Yes;
        var b = Tokens(text, i, s_typedCallStart);
        if (b == Match.Yes) return Match.Yes;
        return a == Match.Partial || b == Match.Partial ? Match.Partial : Match.No;
    }

    private static Match Tokens(ReadOnlySpan<char> text, int i, string[] tokens)
    {
        for (int t = 0; t < tokens.Length; t++)
        {
            if (t > 0)
            {
                while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            }

            if (i >= text.Length) return Match.Partial;
            var m = Literal(text, i, tokens[t]);
            if (m != Match.Yes) return m;
            i += tokens[t].Length;
        }

        return Match.Yes;
    }

    /// <summary>A character of a Functionary recipient (function name): letters, digits, <c>_</c>, <c>-</c>, <c>.</c>.</summary>
    public static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '-' or '.';

    /// <summary>
    /// A Functionary recipient line at <paramref name="i"/>: <c>all\n</c> (content follows), or <c>name\n</c> followed by
    /// <c>{</c> or named <c>python</c> (a call). <see cref="RecipientMatch.Length"/> covers the name and the newline.
    /// </summary>
    public static RecipientMatch Recipient(ReadOnlySpan<char> text, int i)
    {
        int j = i;
        while (j < text.Length && IsNameChar(text[j])) j++;
        if (j >= text.Length) return new(RecipientKind.Partial);
        if (j == i || text[j] != '\n') return new(RecipientKind.None);
        var name = text[i..j];
        int length = j + 1 - i;
        if (name.SequenceEqual("all")) return new(RecipientKind.All, length, j - i);
        if (name.SequenceEqual("python")) return new(RecipientKind.Call, length, j - i);
        if (j + 1 >= text.Length) return new(RecipientKind.Partial);
        return text[j + 1] == '{' ? new(RecipientKind.Call, length, j - i) : new(RecipientKind.None);
    }
}
