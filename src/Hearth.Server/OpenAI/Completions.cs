using System.Text;
using System.Text.Json;
using Hearth.Generation;
using Hearth.Sampling;
using Hearth.Serving;
using Hearth.Tokenizers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.OpenAI;

/// <summary><c>POST /v1/completions</c>: the raw prompt (no chat template) through <see cref="CompletionRequest"/>.</summary>
internal static class Completions
{
    /// <summary>Most prompt token ids accepted in an array prompt (the body limit bounds it too).</summary>
    private const int MaxPromptIds = 1 << 20;

    public static async Task HandleAsync(HttpContext context)
    {
        var dto = await ServerJson.ReadAsync<CompletionRequestDto>(context).ConfigureAwait(false);
        var limits = context.RequestServices.GetRequiredService<RequestLimits>();
        var modelName = ModelRequests.RequireModel(dto.Model);
        if (dto.N is int n && n != 1) throw ApiException.BadRequest($"n = {n} is not supported: this server returns one choice (n = 1)", "n");
        if (dto.BestOf is int b && b != 1) throw ApiException.BadRequest($"best_of = {b} is not supported (only 1)", "best_of");
        if (dto.Echo == true) throw ApiException.BadRequest("echo is not supported", "echo");
        if (!string.IsNullOrEmpty(dto.Suffix)) throw ApiException.BadRequest("suffix (fill-in-the-middle) is not supported", "suffix");
        ModelRequests.CheckSampling(dto.Temperature, dto.TopP, dto.MinP, dto.PresencePenalty, dto.FrequencyPenalty, dto.TopK);
        ModelRequests.CheckRange(dto.Logprobs, 0, 20, "logprobs");
        var (text, ids) = Prompt(dto.Prompt);
        var lora = ModelRequests.Lora(dto.Lora?.Select(l => (l.Name, l.Scale)));
        var defaults = new SamplerOptions();
        var request = new CompletionRequest
        {
            Prompt = text,
            PromptTokens = ids,
            MaxTokens = dto.MaxTokens,
            Stop = ModelRequests.Stop(dto.Stop),
            Logprobs = dto.Logprobs != null,
            TopLogprobs = dto.Logprobs ?? 0,
            Sampling = defaults with
            {
                Temperature = dto.Temperature ?? defaults.Temperature,
                TopP = dto.TopP ?? defaults.TopP,
                TopK = dto.TopK ?? defaults.TopK,
                MinP = dto.MinP ?? defaults.MinP,
                PresencePenalty = dto.PresencePenalty ?? 0,
                FrequencyPenalty = dto.FrequencyPenalty ?? 0,
                Seed = dto.Seed is long seed ? unchecked((ulong)seed) : null,
            },
        };
        var keepAlive = ModelRequests.KeepAlive(dto.KeepAlive);

        using var lease = await ModelRequests.AcquireAsync(context, modelName, keepAlive).ConfigureAwait(false);
        var scheduler = lease.Model.Scheduler;
        SequenceRequest prepared;
        try
        {
            prepared = request.Prepare(scheduler.Model, scheduler.Context, limits);
        }
        catch (Hearth.Models.ContextOverflowException e)
        {
            throw ApiException.BadRequest($"the prompt has {e.Tokens} tokens, which does not fit the model's context of {e.Context} tokens", "prompt", "context_length_exceeded");
        }
        prepared = prepared with { Adapters = ModelRequests.Adapters(context, scheduler.Model, lora) };
        var handle = scheduler.Submit(prepared, context.RequestAborted);
        var tokenizer = scheduler.Model.Tokenizer;
        var id = $"cmpl-{Guid.NewGuid():N}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        bool logprobs = dto.Logprobs != null;

        if (dto.Stream == true)
        {
            await StreamAsync(context, handle, id, created, modelName, tokenizer, logprobs, dto.Logprobs ?? 0, dto.StreamOptions?.IncludeUsage == true).ConfigureAwait(false);
            return;
        }

        var output = new StringBuilder();
        var lp = logprobs ? new LegacyLogprobs(dto.Logprobs ?? 0) : null;
        await foreach (var token in handle.Tokens.ReadAllAsync(context.RequestAborted).ConfigureAwait(false))
        {
            lp?.Add(token, tokenizer, output.Length);
            output.Append(token.Text);
        }

        var stats = await handle.Completion.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        context.RequestAborted.ThrowIfCancellationRequested();
        var choice = new CompletionChoiceDto(0, output.ToString(), lp?.ToDto(), FinishReason(stats.FinishReason));
        await ServerJson.WriteAsync(context, new CompletionDto(id, created, modelName, [choice], Usage(stats))).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext context, SequenceHandle handle, string id, long created, string model, Tokenizer tokenizer,
        bool logprobs, int top, bool includeUsage)
    {
        var sse = new SseWriter(context);
        // Wait for the first token (or the end) before answering, so a failure before it still gets its own status.
        await handle.Tokens.WaitToReadAsync(context.RequestAborted).ConfigureAwait(false);
        await sse.StartAsync().ConfigureAwait(false);
        int offset = 0;
        try
        {
            await foreach (var token in handle.Tokens.ReadAllAsync(context.RequestAborted).ConfigureAwait(false))
            {
                LegacyLogprobsDto? lp = null;
                if (logprobs && token.Token >= 0)
                {
                    var one = new LegacyLogprobs(top);
                    one.Add(token, tokenizer, offset);
                    lp = one.ToDto();
                }

                offset += token.Text.Length;
                if (token.Text.Length == 0 && lp == null) continue;
                await sse.WriteAsync(new CompletionDto(id, created, model, [new CompletionChoiceDto(0, token.Text, lp, null)], null)).ConfigureAwait(false);
            }

            var stats = await handle.Completion.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            context.RequestAborted.ThrowIfCancellationRequested();
            await sse.WriteAsync(new CompletionDto(id, created, model, [new CompletionChoiceDto(0, "", null, FinishReason(stats.FinishReason))], null)).ConfigureAwait(false);
            if (includeUsage) await sse.WriteAsync(new CompletionDto(id, created, model, [], Usage(stats))).ConfigureAwait(false);
            await sse.WriteDoneAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested && e is not OperationCanceledException)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Hearth.Server.OpenAI");
            await sse.WriteErrorAsync(ErrorMiddleware.Classify(e, logger)).ConfigureAwait(false);
        }
    }

    /// <summary>The prompt: a string, an array of one string, an array of token ids, or an array of one such array.</summary>
    private static (string? Text, int[]? Ids) Prompt(JsonElement? value)
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) throw ApiException.BadRequest("prompt is required", "prompt");
        if (e.ValueKind == JsonValueKind.String) return (e.GetString(), null);
        if (e.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("prompt must be a string, an array of strings or an array of token ids", "prompt");
        int count = e.GetArrayLength();
        if (count == 0) throw ApiException.BadRequest("prompt is an empty array", "prompt");
        var first = e[0];
        if (first.ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            if (count != 1) throw ApiException.BadRequest($"prompt holds {count} prompts; this server completes one per request", "prompt");
            return first.ValueKind == JsonValueKind.String ? (first.GetString(), null) : (null, Ids(first));
        }

        return (null, Ids(e));
    }

    private static int[] Ids(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("prompt must be an array of token ids", "prompt");
        int count = array.GetArrayLength();
        if (count > MaxPromptIds) throw ApiException.BadRequest($"prompt has {count} token ids; at most {MaxPromptIds} are accepted", "prompt");
        var ids = new int[count];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out var id) || id < 0)
                throw ApiException.BadRequest("prompt: token ids must be non-negative integers", "prompt");
            ids[i++] = id;
        }

        return ids;
    }

    private static UsageDto Usage(GenerationStats s) => new(s.PromptTokens, s.GeneratedTokens, s.PromptTokens + s.GeneratedTokens);

    private static string FinishReason(Hearth.Generation.FinishReason reason) => reason switch
    {
        Hearth.Generation.FinishReason.Length or Hearth.Generation.FinishReason.ContextFull or Hearth.Generation.FinishReason.Truncated => "length",
        _ => "stop",
    };

    /// <summary>The legacy completions logprobs object, gathered token by token.</summary>
    private sealed class LegacyLogprobs(int top)
    {
        private readonly List<string> _tokens = [];
        private readonly List<float> _logprobs = [];
        private readonly List<Dictionary<string, float>> _top = [];
        private readonly List<int> _offsets = [];

        public void Add(SampledToken token, Tokenizer tokenizer, int offset)
        {
            if (token.Token < 0) return;
            _tokens.Add(ChatCompletions.TokenText(tokenizer, token.Token).Text);
            _logprobs.Add(token.Logprob);
            _offsets.Add(offset);
            var alternatives = new Dictionary<string, float>();
            foreach (var a in (token.Top ?? []).Take(top))
            {
                // Two ids can share a text; the more likely (listed first) wins.
                alternatives.TryAdd(ChatCompletions.TokenText(tokenizer, a.Token).Text, a.Logprob);
            }

            _top.Add(alternatives);
        }

        public LegacyLogprobsDto ToDto() => new(_tokens, _logprobs, top > 0 ? _top : null, _offsets);
    }
}
