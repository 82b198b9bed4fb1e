using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Serving;
using Hearth.Tokenizers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.OpenAI;

/// <summary><c>POST /v1/chat/completions</c>: maps OpenAI's request onto <see cref="HearthChatClient"/> and its updates back.</summary>
internal static partial class ChatCompletions
{
    /// <summary>Most messages and tools one request may carry.</summary>
    private const int MaxMessages = 4096, MaxTools = 128;

    public static async Task HandleAsync(HttpContext context)
    {
        var dto = await ServerJson.ReadAsync<ChatCompletionRequestDto>(context).ConfigureAwait(false);
        var limits = context.RequestServices.GetRequiredService<RequestLimits>();
        var modelName = ModelRequests.RequireModel(dto.Model);
        if (dto.N is int n && n != 1) throw ApiException.BadRequest($"n = {n} is not supported: this server returns one choice (n = 1)", "n");
        var messages = MapMessages(dto.Messages);
        var options = MapOptions(dto, limits);
        var lora = ModelRequests.Lora(dto.Lora?.Select(l => (l.Name, l.Scale)));
        bool logprobs = dto.Logprobs == true;
        var keepAlive = ModelRequests.KeepAlive(dto.KeepAlive);

        using var lease = await ModelRequests.AcquireAsync(context, modelName, keepAlive).ConfigureAwait(false);
        var chat = lease.Model.Chat;
        var adapters = ModelRequests.Adapters(context, lease.Model.Model, lora);
        if (adapters.Count > 0) (options.AdditionalProperties ??= [])[HearthChatClient.LoraOption] = adapters;
        var prepared = ModelRequests.Prepare(() => chat.Prepare(messages, options), e => e switch
        {
            GrammarException when options.ResponseFormat is ChatResponseFormatJson => "response_format",
            GrammarException or NotSupportedException => "tools",
            ArgumentException when options.ToolMode is RequiredChatToolMode => "tool_choice",
            _ => "messages",
        });
        limits.CheckPromptTokens(prepared.Prompt.Length, "messages");

        var id = $"chatcmpl-{Guid.NewGuid():N}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokenizer = lease.Model.Model.Tokenizer;
        await using var updates = chat.GetStreamingResponseAsync(prepared, options, context.RequestAborted).GetAsyncEnumerator(context.RequestAborted);
        // The first update is awaited before anything is written, so a full queue still answers 429.
        bool any = await updates.MoveNextAsync().ConfigureAwait(false);
        if (dto.Stream == true)
        {
            await StreamAsync(context, updates, any, id, created, modelName, tokenizer, logprobs, dto.StreamOptions?.IncludeUsage == true).ConfigureAwait(false);
            return;
        }

        var text = new StringBuilder();
        var calls = new List<ToolCallOutDto>();
        var tokens = new List<TokenLogprobDto>();
        string finish = "stop";
        UsageDto usage = new(prepared.Prompt.Length, 0, prepared.Prompt.Length);
        for (; any; any = await updates.MoveNextAsync().ConfigureAwait(false))
        {
            var u = updates.Current;
            text.Append(u.Text);
            foreach (var call in u.Contents.OfType<FunctionCallContent>()) calls.Add(ToCall(call));
            if (logprobs) tokens.AddRange(Logprobs(u, tokenizer));
            if (u.Contents.OfType<UsageContent>().FirstOrDefault() is { } uc) usage = ToUsage(uc.Details);
            if (u.FinishReason is { } f) finish = FinishReason(f);
        }

        var message = new AssistantMessageDto(calls.Count > 0 && text.Length == 0 ? null : text.ToString(), calls.Count > 0 ? calls : null);
        var choice = new ChatChoiceDto(0, message, logprobs ? new LogprobsDto(tokens) : null, finish);
        await ServerJson.WriteAsync(context, new ChatCompletionDto(id, created, modelName, [choice], usage)).ConfigureAwait(false);
    }

    private static async Task StreamAsync(HttpContext context, IAsyncEnumerator<ChatResponseUpdate> updates, bool any, string id, long created, string model,
        Tokenizer tokenizer, bool logprobs, bool includeUsage)
    {
        var sse = new SseWriter(context);
        await sse.StartAsync().ConfigureAwait(false);
        ChatChunkDto Chunk(ChatDeltaDto delta, LogprobsDto? lp = null, string? finish = null) => new(id, created, model, [new ChatChunkChoiceDto(0, delta, lp, finish)], null);
        await sse.WriteAsync(Chunk(new ChatDeltaDto("assistant", "", null))).ConfigureAwait(false);
        UsageDto? usage = null;
        string finish = "stop";
        int callIndex = 0;
        try
        {
            for (; any; any = await updates.MoveNextAsync().ConfigureAwait(false))
            {
                var u = updates.Current;
                var lp = logprobs ? Logprobs(u, tokenizer) : [];
                var text = u.Text;
                if (text.Length > 0 || lp.Count > 0) await sse.WriteAsync(Chunk(new ChatDeltaDto(null, text, null), logprobs ? new LogprobsDto(lp) : null)).ConfigureAwait(false);
                foreach (var call in u.Contents.OfType<FunctionCallContent>())
                {
                    var c = ToCall(call);
                    await sse.WriteAsync(Chunk(new ChatDeltaDto(null, null, [new ToolCallDeltaDto(callIndex++, c.Id, c.Function)]))).ConfigureAwait(false);
                }

                if (u.Contents.OfType<UsageContent>().FirstOrDefault() is { } uc) usage = ToUsage(uc.Details);
                if (u.FinishReason is { } f) finish = FinishReason(f);
            }
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested && e is not OperationCanceledException)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Hearth.Server.OpenAI");
            await sse.WriteErrorAsync(ErrorMiddleware.Classify(e, logger)).ConfigureAwait(false);
            return;
        }

        await sse.WriteAsync(Chunk(new ChatDeltaDto(null, null, null), null, finish)).ConfigureAwait(false);
        if (includeUsage && usage != null) await sse.WriteAsync(new ChatChunkDto(id, created, model, [], usage)).ConfigureAwait(false);
        await sse.WriteDoneAsync().ConfigureAwait(false);
    }

    /// <summary>OpenAI's per-token objects for the tokens behind an update.</summary>
    internal static List<TokenLogprobDto> Logprobs(ChatResponseUpdate update, Tokenizer tokenizer)
    {
        if (update.AdditionalProperties?.TryGetValue(HearthChatClient.TokensProperty, out var value) != true || value is not SampledToken[] tokens) return [];
        var list = new List<TokenLogprobDto>(tokens.Length);
        foreach (var t in tokens)
        {
            if (t.Token < 0) continue;
            var (text, bytes) = TokenText(tokenizer, t.Token);
            var top = t.Top?.Select(a =>
            {
                var (tt, tb) = TokenText(tokenizer, a.Token);
                return new TopLogprobDto(tt, a.Logprob, tb);
            }).ToList() ?? [];
            list.Add(new TokenLogprobDto(text, t.Logprob, bytes, top));
        }

        return list;
    }

    /// <summary>A token's text (its bytes as UTF-8, partial characters replaced) and its bytes.</summary>
    internal static (string Text, int[] Bytes) TokenText(Tokenizer tokenizer, int id)
    {
        var bytes = tokenizer.TokenBytes(id);
        return (Encoding.UTF8.GetString(bytes), bytes.Select(b => (int)b).ToArray());
    }

    private static ToolCallOutDto ToCall(FunctionCallContent call)
    {
        var id = string.IsNullOrEmpty(call.CallId) ? $"call_{Guid.NewGuid():N}"[..29] : call.CallId;
        var args = JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>());
        return new ToolCallOutDto(id, new FunctionCallOutDto(call.Name, args));
    }

    private static UsageDto ToUsage(UsageDetails d)
    {
        int prompt = (int)(d.InputTokenCount ?? 0), output = (int)(d.OutputTokenCount ?? 0);
        return new UsageDto(prompt, output, prompt + output);
    }

    private static string FinishReason(ChatFinishReason f) =>
        f == ChatFinishReason.Length ? "length" : f == ChatFinishReason.ToolCalls ? "tool_calls" : f == ChatFinishReason.ContentFilter ? "content_filter" : "stop";

    private static List<ChatMessage> MapMessages(List<ChatMessageDto>? messages)
    {
        if (messages == null || messages.Count == 0) throw ApiException.BadRequest("messages is required and must not be empty", "messages");
        if (messages.Count > MaxMessages) throw ApiException.BadRequest($"messages has {messages.Count} entries; at most {MaxMessages} are allowed", "messages");
        var result = new List<ChatMessage>(messages.Count);
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw ApiException.BadRequest($"messages[{i}] is null", $"messages[{i}]");
            string param = $"messages[{i}]";
            var text = Content(m.Content, param + ".content");
            switch (m.Role)
            {
                case "system" or "developer":
                    result.Add(new ChatMessage(ChatRole.System, text ?? ""));
                    break;
                case "user":
                    result.Add(new ChatMessage(ChatRole.User, text ?? ""));
                    break;
                case "assistant":
                {
                    var msg = new ChatMessage(ChatRole.Assistant, text ?? "");
                    foreach (var (call, j) in (m.ToolCalls ?? []).Select((c, j) => (c, j)))
                    {
                        string cp = $"{param}.tool_calls[{j}]";
                        if (call?.Function?.Name is not { Length: > 0 } name) throw ApiException.BadRequest($"{cp}.function.name is required", cp);
                        Dictionary<string, object?>? args;
                        try
                        {
                            args = string.IsNullOrEmpty(call.Function.Arguments) ? [] : JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Function.Arguments);
                        }
                        catch (JsonException)
                        {
                            throw ApiException.BadRequest($"{cp}.function.arguments must be a JSON object (as a string)", cp + ".function.arguments");
                        }

                        msg.Contents.Add(new FunctionCallContent(call.Id ?? $"call_{j}", name, args));
                    }

                    result.Add(msg);
                    break;
                }

                case "tool":
                    if (string.IsNullOrEmpty(m.ToolCallId)) throw ApiException.BadRequest($"{param}.tool_call_id is required for a tool message", param + ".tool_call_id");
                    result.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(m.ToolCallId, text ?? "")]));
                    break;
                default:
                    throw ApiException.BadRequest($"{param}.role '{m.Role}' is not one of system, developer, user, assistant, tool", param + ".role");
            }
        }

        return result;
    }

    /// <summary>A message's content: a string, or an array of text parts (other parts are refused).</summary>
    private static string? Content(JsonElement? content, string param)
    {
        if (content is not { } e || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind == JsonValueKind.String) return e.GetString();
        if (e.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"{param} must be a string or an array of content parts", param);
        var text = new StringBuilder();
        foreach (var part in e.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"{param}: every content part needs a type", param);
            if (type.GetString() != "text") throw ApiException.BadRequest($"{param}: content parts of type '{type.GetString()}' are not supported (only text)", param);
            if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"{param}: a text part needs a text string", param);
            text.Append(t.GetString());
        }

        return text.ToString();
    }

    private static ChatOptions MapOptions(ChatCompletionRequestDto dto, RequestLimits limits)
    {
        ModelRequests.CheckSampling(dto.Temperature, dto.TopP, dto.MinP, dto.PresencePenalty, dto.FrequencyPenalty, dto.TopK);
        ModelRequests.CheckRange(dto.TopLogprobs, 0, 20, "top_logprobs");
        if (dto.TopLogprobs is > 0 && dto.Logprobs != true) throw ApiException.BadRequest("top_logprobs needs logprobs to be true", "top_logprobs");
        string maxParam = dto.MaxCompletionTokens != null ? "max_completion_tokens" : "max_tokens";
        var options = new ChatOptions
        {
            Temperature = dto.Temperature,
            TopP = dto.TopP,
            TopK = dto.TopK,
            Seed = dto.Seed,
            PresencePenalty = dto.PresencePenalty,
            FrequencyPenalty = dto.FrequencyPenalty,
            MaxOutputTokens = limits.ResolveMaxTokens(dto.MaxCompletionTokens ?? dto.MaxTokens, maxParam),
            StopSequences = [.. ModelRequests.Stop(dto.Stop)],
            ResponseFormat = ResponseFormat(dto.ResponseFormat),
        };
        if (dto.Logprobs == true)
        {
            options.AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [HearthChatClient.LogprobsOption] = true,
                [HearthChatClient.TopLogprobsOption] = dto.TopLogprobs ?? 0,
            };
        }

        var tools = Tools(dto.Tools);
        if (tools.Count > 0) options.Tools = [.. tools];
        options.ToolMode = ToolMode(dto.ToolChoice, tools);
        return options;
    }

    private static ChatResponseFormat? ResponseFormat(JsonElement? value)
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw ApiException.BadRequest("response_format must be an object with a type", "response_format");
        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return ChatResponseFormat.Json;
            case "json_schema":
                if (!e.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("response_format.json_schema is required for type json_schema", "response_format.json_schema");
                if (!js.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !ToolName().IsMatch(name.GetString()!))
                    throw ApiException.BadRequest("response_format.json_schema.name is required (a-z, A-Z, 0-9, _ and -, at most 64)", "response_format.json_schema.name");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("response_format.json_schema.schema must be a JSON Schema object", "response_format.json_schema.schema");
                string? description = js.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return ChatResponseFormat.ForJsonSchema(schema.Clone(), name.GetString(), description);
            default:
                throw ApiException.BadRequest($"response_format.type '{type.GetString()}' is not one of text, json_object, json_schema", "response_format.type");
        }
    }

    private static List<AIFunctionDeclaration> Tools(List<ToolDto>? tools)
    {
        if (tools == null) return [];
        if (tools.Count > MaxTools) throw ApiException.BadRequest($"tools has {tools.Count} entries; at most {MaxTools} are allowed", "tools");
        var result = new List<AIFunctionDeclaration>();
        for (int i = 0; i < tools.Count; i++)
        {
            string param = $"tools[{i}]";
            var t = tools[i] ?? throw ApiException.BadRequest($"{param} is null", param);
            if (t.Type != "function") throw ApiException.BadRequest($"{param}.type must be 'function'", param + ".type");
            var f = t.Function ?? throw ApiException.BadRequest($"{param}.function is required", param + ".function");
            if (f.Name == null || !ToolName().IsMatch(f.Name))
                throw ApiException.BadRequest($"{param}.function.name must be 1 to 64 of a-z, A-Z, 0-9, _ and -", param + ".function.name");
            if (result.Any(r => r.Name == f.Name)) throw ApiException.BadRequest($"{param}.function.name '{f.Name}' is given twice", param + ".function.name");
            JsonElement parameters;
            if (f.Parameters is { ValueKind: not JsonValueKind.Null } p)
            {
                if (p.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{param}.function.parameters must be a JSON Schema object", param + ".function.parameters");
                parameters = p.Clone();
            }
            else
            {
                parameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();
            }

            result.Add(AIFunctionFactory.CreateDeclaration(f.Name, f.Description, parameters));
        }

        return result;
    }

    private static ChatToolMode? ToolMode(JsonElement? value, List<AIFunctionDeclaration> tools)
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) return null;
        if (e.ValueKind == JsonValueKind.String)
        {
            return e.GetString() switch
            {
                "none" => ChatToolMode.None,
                "auto" => ChatToolMode.Auto,
                "required" when tools.Count == 0 => throw ApiException.BadRequest("tool_choice 'required' needs tools", "tool_choice"),
                "required" => ChatToolMode.RequireAny,
                var s => throw ApiException.BadRequest($"tool_choice '{s}' is not one of none, auto, required, or a function", "tool_choice"),
            };
        }

        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "function"
            && e.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            var n = name.GetString()!;
            if (!tools.Any(t => t.Name == n)) throw ApiException.BadRequest($"tool_choice names the function '{n}', which is not among the tools", "tool_choice");
            return ChatToolMode.RequireSpecific(n);
        }

        throw ApiException.BadRequest("tool_choice must be none, auto, required, or {\"type\":\"function\",\"function\":{\"name\":...}}", "tool_choice");
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ToolName();
}
