using System.Text;

namespace Hearth.Chat.ToolCalls;

/// <summary>Text a stream may show now: new content and new reasoning (either may be empty).</summary>
public readonly record struct ToolCallStreamDelta(string Content, string Reasoning)
{
    /// <summary>Nothing to show.</summary>
    public static ToolCallStreamDelta Empty { get; } = new("", "");

    /// <summary>Whether there is nothing to show.</summary>
    public bool IsEmpty => Content.Length == 0 && Reasoning.Length == 0;
}

/// <summary>What <see cref="ToolCallStreamFilter.Inspect"/> makes of the text generated so far.</summary>
/// <param name="SafeContent">The content that may be shown (a prefix of the final content).</param>
/// <param name="Reasoning">The reasoning that may be shown.</param>
/// <param name="ToolCallStarted">A tool call has begun; hold everything from it on.</param>
/// <param name="MayBeToolCall">A call has begun, or the unreleased end of the text may still turn into one.</param>
public readonly record struct ToolCallStreamState(string SafeContent, string Reasoning, bool ToolCallStarted, bool MayBeToolCall);

/// <summary>
/// Splits a model's output, as it is generated, into text that is safe to stream to the user now and text held back
/// because it is (or may still become) a tool call. Feed it each decoded chunk with <see cref="Push"/> and call
/// <see cref="Finish"/> at the end of generation; <see cref="Result"/> then holds the parsed turn.
/// <para>
/// Guarantees: everything streamed as content is a prefix of the final <see cref="ParsedAssistantMessage.Content"/>, and
/// the deltas of <see cref="Push"/> and <see cref="Finish"/> together are exactly that content (likewise for reasoning), so a
/// tool call's text never reaches the content stream. Text is held only while it could be the start of a call marker (a
/// few characters), leading/trailing whitespace aside; once a call has begun, the rest of the output is held and
/// whatever content follows the calls arrives with <see cref="Finish"/>. (One exception: when the prompt opened a
/// reasoning block and <see cref="ToolCallParseOptions.ReasoningStartedInPrompt"/> was not set, the final parse still finds
/// the reasoning, but it has already been streamed as content; set the option.)
/// </para>
/// Not thread-safe: one filter per generated turn.
/// </summary>
public sealed class ToolCallStreamFilter
{
    private enum State
    {
        Start,
        Reasoning,
        Content,
        Held,
        Finished,
    }

    private readonly ToolCallFormat _format;
    private readonly ToolCallFormatInfo _info;
    private readonly ToolCallParseOptions _options;
    private readonly WhitespaceHolder _content = new();
    private readonly WhitespaceHolder _reasoning = new();
    private char[] _buffer = new char[256];
    private int _length;
    private State _state;
    private int _scan;
    private int _emitFrom;
    private int _contentStart = -1;
    private int _reasoningPair = -1;

    /// <summary>A filter for one assistant turn in <paramref name="format"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined format.</exception>
    public ToolCallStreamFilter(ToolCallFormat format, ToolCallParseOptions? options = null)
    {
        _info = ToolCallFormats.Get(format);
        _format = format;
        _options = options ?? ToolCallParseOptions.Default;
    }

    /// <summary>Whether a tool call has begun: everything from there on is held until <see cref="Finish"/>.</summary>
    public bool ToolCallStarted => _state == State.Held || (_state == State.Finished && Result!.HasToolCalls);

    /// <summary>Whether some text pushed so far has not been released (it may start a call, or is whitespace that may be trimmed).</summary>
    public bool IsHolding => _state != State.Finished && (_emitFrom < _length || _content.IsHolding || _reasoning.IsHolding);

    /// <summary>
    /// Whether the output is a tool call or may still become one: a call has begun, or the text not yet released could be
    /// the start of a call marker (or of a reasoning tag that decides what follows). False once finished without calls.
    /// </summary>
    public bool MayBeToolCall => _state switch
    {
        State.Held => true,
        State.Finished => Result!.HasToolCalls,
        State.Start => _length > 0,
        _ => _emitFrom < _length,
    };

    /// <summary>
    /// Inspects the text generated so far in one go, for callers that keep the text themselves: what may be shown as
    /// content and reasoning, and whether the output is, or may still become, a tool call. Equivalent to pushing the text
    /// into a fresh filter.
    /// </summary>
    public static ToolCallStreamState Inspect(string textSoFar, ToolCallFormat format, ToolCallParseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(textSoFar);
        var filter = new ToolCallStreamFilter(format, options);
        var delta = filter.Push(textSoFar);
        return new ToolCallStreamState(delta.Content, delta.Reasoning, filter.ToolCallStarted, filter.MayBeToolCall);
    }

    /// <summary>All text pushed so far.</summary>
    public string Text => new(_buffer, 0, _length);

    /// <summary>The parsed turn, once <see cref="Finish"/> has been called; null before.</summary>
    public ParsedAssistantMessage? Result { get; private set; }

    /// <summary>Adds the next chunk of generated text and returns what may be shown now.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Finish"/> was already called.</exception>
    public ToolCallStreamDelta Push(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (_state == State.Finished) throw new InvalidOperationException("the stream filter has finished; start a new one for the next turn");
        if (chunk.Length == 0) return ToolCallStreamDelta.Empty;
        if (_length + chunk.Length > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + chunk.Length));
        chunk.CopyTo(_buffer.AsSpan(_length));
        _length += chunk.Length;

        var content = new StringBuilder();
        var reasoning = new StringBuilder();
        Advance(content, reasoning);
        return content.Length == 0 && reasoning.Length == 0 ? ToolCallStreamDelta.Empty : new(content.ToString(), reasoning.ToString());
    }

    /// <summary>
    /// Ends the turn: parses all the text (<see cref="Result"/>) and returns the content and reasoning not yet shown,
    /// including any content that followed the tool calls. Calling it again returns <see cref="ToolCallStreamDelta.Empty"/>.
    /// </summary>
    public ToolCallStreamDelta Finish()
    {
        if (_state == State.Finished) return ToolCallStreamDelta.Empty;
        _state = State.Finished;
        Result = ToolCallParser.Parse(Text, _format, _options);
        return new(Rest(Result.Content, _content.Emitted), Rest(Result.Reasoning ?? "", _reasoning.Emitted));
    }

    private static string Rest(string final, StringBuilder emitted)
    {
        if (final.Length < emitted.Length) return "";
        for (int i = 0; i < emitted.Length; i++)
        {
            if (final[i] != emitted[i]) return "";
        }

        return final[emitted.Length..];
    }

    private void Advance(StringBuilder content, StringBuilder reasoning)
    {
        var text = _buffer.AsSpan(0, _length);
        while (true)
        {
            switch (_state)
            {
                case State.Start:
                    if (!StartState(text)) return;
                    break;
                case State.Reasoning:
                    if (!ReasoningState(text, reasoning)) return;
                    break;
                case State.Content:
                    ContentState(text, content);
                    return;
                default:
                    return;
            }
        }
    }

    /// <summary>Decides whether the output opens with reasoning. False while it cannot tell yet.</summary>
    private bool StartState(ReadOnlySpan<char> text)
    {
        if (!_options.ExtractReasoning)
        {
            _state = State.Content;
            return true;
        }

        if (_options.ReasoningStartedInPrompt)
        {
            _state = State.Reasoning;
            return true;
        }

        int p = 0;
        while (p < text.Length && char.IsWhiteSpace(text[p])) p++;
        if (p >= text.Length) return false;
        bool partial = false;
        var tags = _info.ReasoningTags;
        for (int k = 0; k < tags.Count; k++)
        {
            var m = Patterns.Literal(text, p, tags[k].Open);
            if (m == Patterns.Match.Yes)
            {
                _reasoningPair = k;
                _state = State.Reasoning;
                _scan = _emitFrom = p + tags[k].Open.Length;
                return true;
            }

            partial |= m == Patterns.Match.Partial;
        }

        if (partial) return false;
        _state = State.Content;
        return true;
    }

    /// <summary>Streams reasoning up to its closing tag. True when the tag was found and content begins.</summary>
    private bool ReasoningState(ReadOnlySpan<char> text, StringBuilder reasoning)
    {
        var tags = _info.ReasoningTags;
        int i = _scan;
        while (i < text.Length)
        {
            bool partial = false;
            for (int k = 0; k < tags.Count; k++)
            {
                if (_reasoningPair >= 0 && k != _reasoningPair) continue;
                var m = Patterns.Literal(text, i, tags[k].Close);
                if (m == Patterns.Match.Yes)
                {
                    _reasoning.Append(text[_emitFrom..i], reasoning);
                    _scan = _emitFrom = i + tags[k].Close.Length;
                    _state = State.Content;
                    return true;
                }

                partial |= m == Patterns.Match.Partial;
            }

            var marker = SkipMarker(text, i);
            if (marker.Kind == TriggerKind.Partial || partial) break;
            if (marker.Kind == TriggerKind.Skip)
            {
                _reasoning.Append(text[_emitFrom..i], reasoning);
                i += marker.Length;
                _emitFrom = i;
                continue;
            }

            i++;
        }

        _reasoning.Append(text[_emitFrom..i], reasoning);
        _scan = _emitFrom = i;
        return false;
    }

    /// <summary>An end-of-turn token (or other content marker) at <paramref name="i"/>.</summary>
    private TriggerResult SkipMarker(ReadOnlySpan<char> text, int i)
    {
        bool partial = false;
        foreach (var marker in _info.ContentMarkers)
        {
            var m = Patterns.Literal(text, i, marker);
            if (m == Patterns.Match.Yes) return new TriggerResult(TriggerKind.Skip, marker.Length);
            partial |= m == Patterns.Match.Partial;
        }

        return partial ? TriggerResult.Partial : TriggerResult.None;
    }

    /// <summary>Streams content up to anything that may begin a call.</summary>
    private void ContentState(ReadOnlySpan<char> text, StringBuilder content)
    {
        int i = _scan;
        while (i < text.Length)
        {
            if (_contentStart < 0)
            {
                if (char.IsWhiteSpace(text[i]))
                {
                    i++;
                    continue;
                }

                _contentStart = i;
            }

            var r = _info.Check(text, i, atStart: i == _contentStart);
            if (r.Kind == TriggerKind.Partial) break;
            if (r.Kind == TriggerKind.Skip)
            {
                _content.Append(text[_emitFrom..i], content);
                i += r.Length;
                _emitFrom = i;
                continue;
            }

            if (r.Kind == TriggerKind.CallStart)
            {
                _content.Append(text[_emitFrom..i], content);
                _scan = _emitFrom = i;
                _state = State.Held;
                return;
            }

            i++;
        }

        _content.Append(text[_emitFrom..i], content);
        _scan = _emitFrom = i;
    }

    /// <summary>
    /// Passes text through but drops leading whitespace and holds trailing whitespace until something follows it, so what
    /// it emits is always a prefix of the trimmed whole.
    /// </summary>
    private sealed class WhitespaceHolder
    {
        private readonly StringBuilder _held = new();
        private bool _started;

        public StringBuilder Emitted { get; } = new();

        public bool IsHolding => _held.Length > 0;

        public void Append(ReadOnlySpan<char> text, StringBuilder delta)
        {
            foreach (char c in text)
            {
                if (char.IsWhiteSpace(c))
                {
                    if (_started) _held.Append(c);
                    continue;
                }

                if (_held.Length > 0)
                {
                    delta.Append(_held);
                    Emitted.Append(_held);
                    _held.Clear();
                }

                delta.Append(c);
                Emitted.Append(c);
                _started = true;
            }
        }
    }
}
