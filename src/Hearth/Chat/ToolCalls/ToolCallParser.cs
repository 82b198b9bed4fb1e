namespace Hearth.Chat.ToolCalls;

/// <summary>
/// Recovers an assistant turn (content, reasoning, tool calls) from the text a model generated. Parsing never throws on
/// model output: whatever looks like a call but is not a valid one is reported in <see cref="ParsedAssistantMessage.Problems"/>
/// and its text stays in <see cref="ParsedAssistantMessage.Content"/>. Thread-safe; allocates only for the result.
/// </summary>
public static class ToolCallParser
{
    /// <summary>
    /// Parses <paramref name="output"/>, the text generated after the prompt (end-of-turn tokens may be present or not).
    /// Reasoning is separated first (a leading <c>&lt;think&gt;…&lt;/think&gt;</c> or the format's own tags; with
    /// <see cref="ToolCallParseOptions.ReasoningStartedInPrompt"/>, everything up to the closing tag), then the format's calls
    /// are read from the rest. See <see cref="ToolCallFormat"/> for each format's syntax.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined format.</exception>
    public static ParsedAssistantMessage Parse(string output, ToolCallFormat format, ToolCallParseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var info = ToolCallFormats.Get(format);
        var state = new ParseState(output, info, options ?? ToolCallParseOptions.Default);
        int end = TrimEnd(state, output.Length);
        int pos = state.Options.ExtractReasoning ? ReadReasoning(state, 0, end) : 0;
        pos = state.SkipWs(pos, end);
        switch (format)
        {
            case ToolCallFormat.ContentOnly:
                state.AddContent(pos, end);
                break;
            case ToolCallFormat.Generic:
                FormatParsers.Generic(state, pos, end);
                break;
            case ToolCallFormat.Hermes:
                FormatParsers.Hermes(state, pos, end);
                break;
            case ToolCallFormat.Llama3Json:
                FormatParsers.Llama3(state, pos, end);
                break;
            case ToolCallFormat.Phi4Mini:
                FormatParsers.Phi4Mini(state, pos, end);
                break;
            case ToolCallFormat.Mistral:
            case ToolCallFormat.MistralV11:
                FormatParsers.Mistral(state, pos, end);
                break;
            case ToolCallFormat.FunctionaryV32:
                FormatParsers.Functionary(state, pos, end);
                break;
            case ToolCallFormat.CommandR7B:
                FormatParsers.CommandR7B(state, pos, end);
                break;
            case ToolCallFormat.DeepSeekR1:
                FormatParsers.DeepSeekR1(state, pos, end);
                break;
        }

        return state.Result();
    }

    /// <summary>
    /// Whether a rendered prompt leaves a reasoning block open for the model (ends with <c>&lt;think&gt;</c> or Command R7B's
    /// <c>&lt;|START_THINKING|&gt;</c>, then optional whitespace), so its output starts inside reasoning: the value for
    /// <see cref="ToolCallParseOptions.ReasoningStartedInPrompt"/>.
    /// </summary>
    public static bool PromptOpensReasoning(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var trimmed = prompt.AsSpan().TrimEnd();
        return trimmed.EndsWith("<think>", StringComparison.Ordinal) || trimmed.EndsWith("<|START_THINKING|>", StringComparison.Ordinal);
    }

    /// <summary>The end of the output without trailing whitespace and end-of-turn tokens.</summary>
    private static int TrimEnd(ParseState state, int end)
    {
        while (true)
        {
            while (end > 0 && char.IsWhiteSpace(state.S[end - 1])) end--;
            bool stripped = false;
            foreach (var token in ToolCallFormats.EndOfTurnTokens)
            {
                if (end >= token.Length && state.At(end - token.Length, end, token))
                {
                    end -= token.Length;
                    stripped = true;
                }
            }

            if (!stripped) return end;
        }
    }

    /// <summary>Separates the reasoning block, returning where the rest begins.</summary>
    private static int ReadReasoning(ParseState state, int pos, int end)
    {
        var tags = state.Format.ReasoningTags;
        if (state.Options.ReasoningStartedInPrompt)
        {
            var (close, closeTag) = state.FindFirst(tags.Select(t => t.Close).ToList(), pos, end);
            if (close < 0)
            {
                state.SetReasoning(pos, end);
                state.Problem(ToolCallProblemKind.UnterminatedReasoning, "the output ends inside the reasoning the prompt opened; it is all taken as reasoning", pos, end);
                return end;
            }

            state.SetReasoning(pos, close);
            return close + closeTag!.Length;
        }

        int p = state.SkipWs(pos, end);
        foreach (var (open, close) in tags)
        {
            if (!state.At(p, end, open)) continue;
            int closeAt = state.Find(close, p + open.Length, end);
            if (closeAt < 0)
            {
                state.SetReasoning(p + open.Length, end);
                state.Problem(ToolCallProblemKind.UnterminatedReasoning, $"{open} is never closed by {close}; everything after it is taken as reasoning", p, end);
                return end;
            }

            state.SetReasoning(p + open.Length, closeAt);
            return closeAt + close.Length;
        }

        // A closing tag with no opening one: the prompt opened the block (DeepSeek R1's template does) and the caller did
        // not say so. Only a closing tag that is not preceded by its opening tag counts.
        foreach (var (open, close) in tags)
        {
            int closeAt = state.Find(close, p, end);
            if (closeAt >= 0 && state.Find(open, p, closeAt) < 0)
            {
                state.SetReasoning(p, closeAt);
                return closeAt + close.Length;
            }
        }

        return pos;
    }
}
