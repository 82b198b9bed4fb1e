using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Hearth.Chat;
using Hearth.Models;
using Hearth.Sampling;
using Microsoft.Extensions.AI;

namespace Hearth.Generation;

/// <summary>
/// <see cref="IChatClient"/> over a loaded model: messages are rendered through the model's chat template (or a
/// built-in fallback), generated with the sampler settings mapped from <see cref="ChatOptions"/>, and streamed back.
/// Safe to call concurrently: each call has its own sequence state; the weights and thread pool are shared.
/// </summary>
public sealed class HearthChatClient : IChatClient
{
    /// <summary><see cref="ChatOptions.AdditionalProperties"/> key: true asks for the log-probability of each token.</summary>
    public const string LogprobsOption = "logprobs";

    /// <summary>
    /// <see cref="ChatOptions.AdditionalProperties"/> key: LoRA adapters to apply to this request, as an
    /// <see cref="IEnumerable{T}"/> of <see cref="Hearth.Models.Lora.AdapterReference"/> whose sources are file paths
    /// (loaded once per model through <see cref="LanguageModel.Adapters"/>), or of <see cref="ActiveAdapter"/> already
    /// loaded for this client's model.
    /// </summary>
    public const string LoraOption = "lora";

    /// <summary><see cref="ChatOptions.AdditionalProperties"/> key: how many alternatives (0..20) to report per token.</summary>
    public const string TopLogprobsOption = "top_logprobs";

    /// <summary>
    /// <see cref="ChatResponseUpdate.AdditionalProperties"/> key of the <see cref="SampledToken"/>[] behind an update
    /// (ids and log-probabilities), present when log-probabilities were asked for.
    /// </summary>
    public const string TokensProperty = "hearth.tokens";

    /// <summary>Key of the final update's <see cref="FinishReason"/> name.</summary>
    public const string FinishReasonProperty = "hearth.finish_reason";

    private readonly LanguageModel _model;
    private readonly Hearth.Serving.SequenceScheduler? _scheduler;

    /// <param name="model">The loaded model (not owned: disposing the client leaves it loaded).</param>
    /// <param name="template">The chat template; by default the model's own, or a built-in fallback.</param>
    /// <param name="constraints">Turns response formats and tool modes into token constraints; null supports neither.</param>
    public HearthChatClient(LanguageModel model, ChatTemplate? template = null, IChatConstraintFactory? constraints = null)
    {
        _model = model;
        Template = template ?? ChatTemplate.ForModel(model.File);
        Constraints = constraints;
        ModelId = System.IO.Path.GetFileNameWithoutExtension(model.File.Path);
        Metadata = new ChatClientMetadata("hearth", null, ModelId);
    }

    /// <summary>
    /// A client whose generations run in <paramref name="scheduler"/>'s batched sequences (a server's model): concurrent
    /// calls are decoded together and wait in its queue when every sequence is busy.
    /// </summary>
    public HearthChatClient(Hearth.Serving.SequenceScheduler scheduler, ChatTemplate? template = null, IChatConstraintFactory? constraints = null)
        : this(scheduler.Model, template, constraints) => _scheduler = scheduler;

    public ChatTemplate Template { get; }

    public IChatConstraintFactory? Constraints { get; }

    public string ModelId { get; }

    public ChatClientMetadata Metadata { get; }

    /// <summary>A fixed instant for templates that print the date (tests); null uses the clock.</summary>
    public DateTime? Now { get; init; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false)) updates.Add(u);
        var response = updates.ToChatResponse();
        if (updates.Count > 0 && updates[^1].AdditionalProperties is { } extra) response.AdditionalProperties = new AdditionalPropertiesDictionary(extra);
        return response;
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = Prepare(messages, options);
        await foreach (var update in GetStreamingResponseAsync(request, options, cancellationToken).ConfigureAwait(false)) yield return update;
    }

    /// <summary>
    /// Streams a request already made by <see cref="Prepare"/> with the same <paramref name="options"/>, so a caller (a
    /// server) can check the prepared prompt, such as its length, before generating. The updates are those of
    /// <see cref="GetStreamingResponseAsync(IEnumerable{ChatMessage}, ChatOptions?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="Hearth.Serving.SchedulerBusyException">The client runs in a scheduler whose queue is full.</exception>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        ChatRequest request, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var responseId = $"chatcmpl-{Guid.NewGuid():N}";
        var created = DateTimeOffset.UtcNow;
        var (logprobs, topLogprobs) = LogprobOptions(options);
        var (tokens, completion) = Start(request, logprobs, topLogprobs, cancellationToken);
        var text = new System.Text.StringBuilder();
        var pendingTokens = new List<SampledToken>();
        await foreach (var token in tokens.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            text.Append(token.Text);
            if (request.HoldText) continue;
            if (logprobs && token.Token >= 0) pendingTokens.Add(token);
            if (token.Text.Length == 0) continue;
            var update = new ChatResponseUpdate(ChatRole.Assistant, token.Text) { ResponseId = responseId, MessageId = responseId, CreatedAt = created, ModelId = ModelId };
            if (pendingTokens.Count > 0)
            {
                update.AdditionalProperties = new AdditionalPropertiesDictionary { [TokensProperty] = pendingTokens.ToArray() };
                pendingTokens.Clear();
            }

            yield return update;
        }

        var stats = await completion.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var final = new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = responseId, MessageId = responseId, CreatedAt = created, ModelId = ModelId };
        if (request.HoldText)
        {
            foreach (var content in Constraints!.ToContents(request, text.ToString())) final.Contents.Add(content);
        }

        final.FinishReason = final.Contents.Any(c => c is FunctionCallContent) ? ChatFinishReason.ToolCalls : MapFinish(stats.FinishReason);
        final.Contents.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = stats.PromptTokens,
            OutputTokenCount = stats.GeneratedTokens,
            TotalTokenCount = stats.PromptTokens + stats.GeneratedTokens,
        }));
        final.AdditionalProperties = new AdditionalPropertiesDictionary { [FinishReasonProperty] = stats.FinishReason.ToString() };
        if (pendingTokens.Count > 0) final.AdditionalProperties[TokensProperty] = pendingTokens.ToArray();
        yield return final;
    }

    /// <summary>Runs a prepared request in the scheduler, or alone on the model's pool.</summary>
    private (ChannelReader<SampledToken> Tokens, Task<GenerationStats> Completion) Start(ChatRequest request, bool logprobs, int topLogprobs, CancellationToken cancellation)
    {
        if (_scheduler != null)
        {
            var handle = _scheduler.Submit(new Hearth.Serving.SequenceRequest
            {
                Prompt = request.Prompt,
                Options = request.Options,
                Context = request.Context,
                Logprobs = logprobs,
                TopLogprobs = topLogprobs,
                Adapters = request.Adapters,
            }, cancellation);
            return (handle.Tokens, handle.Completion);
        }

        var channel = Channel.CreateUnbounded<SampledToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var generator = new TextGenerator(_model, request.Context);
        generator.SetAdapters(request.Adapters);
        var producer = Task.Run(() =>
        {
            try
            {
                foreach (var token in generator.GenerateTokens(request.Prompt, request.Options, logprobs, topLogprobs, cancellation)) channel.Writer.TryWrite(token);
                channel.Writer.TryComplete();
                return generator.Stats;
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
                throw;
            }
        }, CancellationToken.None);
        return (channel.Reader, producer);
    }

    /// <summary>The adapters of <see cref="LoraOption"/>, loaded through the model's registry.</summary>
    private IReadOnlyList<ActiveAdapter> ResolveAdapters(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { } extra || !extra.TryGetValue(LoraOption, out var value) || value is null) return [];
        if (value is IEnumerable<ActiveAdapter> loaded) return [.. loaded];
        if (value is not IEnumerable<Hearth.Models.Lora.AdapterReference> references)
            throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{LoraOption}\"] must be a list of AdapterReference (or of loaded ActiveAdapter), not {value.GetType().Name}", nameof(options));
        return _model.Adapters.Resolve(references);
    }

    private static (bool Logprobs, int Top) LogprobOptions(ChatOptions? options)
    {
        var extra = options?.AdditionalProperties;
        if (extra == null) return (false, 0);
        bool logprobs = extra.TryGetValue(LogprobsOption, out bool lp) && lp;
        int top = extra.TryGetValue(TopLogprobsOption, out int t) ? t : 0;
        if (top is < 0 or > SequenceSampler.MaxTopLogprobs) throw new ArgumentOutOfRangeException(nameof(options), $"top_logprobs {top} must be within 0..{SequenceSampler.MaxTopLogprobs}");
        return (logprobs || top > 0, top);
    }

    /// <summary>Renders the prompt and maps the options; everything that can be refused is refused here, before generating.</summary>
    public ChatRequest Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.ToList();
        var json = ToTemplateMessages(list, options?.Instructions);
        var tools = options?.Tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        if (options?.ToolMode is NoneChatToolMode) tools = [];
        var input = new ChatTemplateInput
        {
            Messages = json,
            Tools = tools.Count > 0 ? ToTemplateTools(tools) : null,
            AddGenerationPrompt = true,
            Now = Now,
        };
        var prompt = Template.Render(input);
        var promptTokens = EncodePrompt(prompt);
        var sampling = new SamplerOptions
        {
            Temperature = options?.Temperature ?? 0.8f,
            TopP = options?.TopP ?? 0.95f,
            TopK = options?.TopK ?? 40,
            Seed = options?.Seed is long seed ? unchecked((ulong)seed) : null,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0f,
            PresencePenalty = options?.PresencePenalty ?? 0f,
        };
        int maxTokens = options?.MaxOutputTokens ?? -1;
        if (maxTokens < -1 || maxTokens == 0) throw new ArgumentOutOfRangeException(nameof(options), $"MaxOutputTokens {maxTokens} must be positive");
        int context = Math.Min(_model.Context, maxTokens > 0 ? promptTokens.Length + maxTokens : _model.Context);
        if (promptTokens.Length >= context) throw new ContextOverflowException(0, promptTokens.Length, context);
        var request = new ChatRequest
        {
            Prompt = promptTokens,
            Context = context,
            Tools = tools,
            ResponseFormat = options?.ResponseFormat,
            ToolMode = options?.ToolMode,
            Adapters = ResolveAdapters(options),
            Options = new GenerationOptions
            {
                MaxTokens = maxTokens,
                Stop = options?.StopSequences?.ToList() ?? [],
                Sampling = sampling,
            },
        };

        bool wantsConstraint = options?.ResponseFormat is ChatResponseFormatJson || (tools.Count > 0 && options?.ToolMode is RequiredChatToolMode);
        if (tools.Count > 0 || wantsConstraint)
        {
            if (Constraints == null) throw new NotSupportedException("this client has no constraint factory: JSON response formats and tools are unavailable");
            request = Constraints.Apply(request, _model, Template);
        }

        return request;
    }

    private int[] EncodePrompt(string prompt)
    {
        var tokenizer = _model.Tokenizer;
        var tokens = tokenizer.Encode(prompt, addSpecial: false, parseSpecial: true);
        // Templates usually print BOS themselves; add it only when the model wants one and the template did not.
        if (tokenizer.AddBos && tokenizer.BosId is int bos && (tokens.Length == 0 || tokens[0] != bos)) tokens = [bos, .. tokens];
        return tokens;
    }

    /// <summary>Microsoft.Extensions.AI messages as the JSON a chat template expects.</summary>
    public static JsonArray ToTemplateMessages(IReadOnlyList<ChatMessage> messages, string? instructions)
    {
        var result = new JsonArray();
        if (!string.IsNullOrEmpty(instructions)) result.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        foreach (var m in messages)
        {
            var calls = m.Contents.OfType<FunctionCallContent>().ToList();
            var results = m.Contents.OfType<FunctionResultContent>().ToList();
            var text = string.Concat(m.Contents.OfType<TextContent>().Select(t => t.Text));
            if (results.Count > 0)
            {
                foreach (var r in results)
                {
                    result.Add(new JsonObject
                    {
                        ["role"] = "tool",
                        ["tool_call_id"] = r.CallId,
                        ["content"] = r.Result switch
                        {
                            null => "",
                            string s => s,
                            JsonElement e when e.ValueKind == JsonValueKind.String => e.GetString(),
                            var o => JsonSerializer.Serialize(o),
                        },
                    });
                }

                continue;
            }

            var msg = new JsonObject { ["role"] = m.Role.Value, ["content"] = text };
            if (calls.Count > 0)
            {
                var array = new JsonArray();
                foreach (var c in calls)
                {
                    array.Add(new JsonObject
                    {
                        ["id"] = c.CallId,
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = c.Name,
                            ["arguments"] = JsonSerializer.SerializeToNode(c.Arguments ?? new Dictionary<string, object?>()),
                        },
                    });
                }

                msg["tool_calls"] = array;
            }

            result.Add(msg);
        }

        return result;
    }

    /// <summary>Tool declarations in the OpenAI shape templates expect.</summary>
    public static JsonArray ToTemplateTools(IEnumerable<AIFunctionDeclaration> tools)
    {
        var array = new JsonArray();
        foreach (var t in tools)
        {
            array.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = t.Name,
                    ["description"] = t.Description,
                    ["parameters"] = JsonNode.Parse(t.JsonSchema.GetRawText()),
                },
            });
        }

        return array;
    }

    private static ChatFinishReason? MapFinish(FinishReason reason) => reason switch
    {
        FinishReason.EndOfGeneration or FinishReason.Stop => ChatFinishReason.Stop,
        FinishReason.Length or FinishReason.ContextFull or FinishReason.Truncated => ChatFinishReason.Length,
        _ => null,
    };

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey == null && serviceType.IsInstanceOfType(this) ? this :
        serviceKey == null && serviceType == typeof(ChatClientMetadata) ? Metadata :
        serviceKey == null && serviceType == typeof(LanguageModel) ? _model : null;

    /// <summary>The client does not own the model; disposing it does nothing.</summary>
    public void Dispose()
    {
    }
}

/// <summary>One prepared chat request: prompt tokens, generation options, and what the answer must look like.</summary>
public sealed record ChatRequest
{
    public required int[] Prompt { get; init; }

    public required int Context { get; init; }

    public required GenerationOptions Options { get; init; }

    public IReadOnlyList<AIFunctionDeclaration> Tools { get; init; } = [];

    public ChatResponseFormat? ResponseFormat { get; init; }

    public ChatToolMode? ToolMode { get; init; }

    /// <summary>True when the text must be post-processed (tool calls) before it is shown, so it is not streamed.</summary>
    public bool HoldText { get; init; }

    /// <summary>How the model writes tool calls, when tools were offered.</summary>
    public Hearth.Chat.ToolCalls.ToolCallFormat ToolFormat { get; init; }

    /// <summary>LoRA adapters applied to this request (from <see cref="HearthChatClient.LoraOption"/>).</summary>
    public IReadOnlyList<ActiveAdapter> Adapters { get; init; } = [];
}

/// <summary>Builds the constraint and post-processing a request needs (JSON schemas, tool calls).</summary>
public interface IChatConstraintFactory
{
    /// <summary>Adds the constraint for the request's response format or tool mode; refuses what it cannot enforce.</summary>
    ChatRequest Apply(ChatRequest request, LanguageModel model, ChatTemplate template);

    /// <summary>Turns the held text of a request into message contents (text and function calls).</summary>
    IEnumerable<AIContent> ToContents(ChatRequest request, string text);
}
