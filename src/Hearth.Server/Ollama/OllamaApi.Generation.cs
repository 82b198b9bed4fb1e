using Hearth.Store;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Server.Ollama;

/// <summary>The handlers of the Ollama API; <see cref="OllamaEndpoints.MapOllama"/> maps them.</summary>
internal sealed partial class OllamaApi(OllamaModelCatalog catalog)
{
    private static (ModelHost Host, IModelSource Source, HearthServerOptions Options) Services(HttpContext context) =>
        (context.RequestServices.GetRequiredService<ModelHost>(),
         context.RequestServices.GetRequiredService<IModelSource>(),
         context.RequestServices.GetRequiredService<HearthServerOptions>());

    private static RequestLimits Limits(HearthServerOptions options, LoadedModel model) => new()
    {
        MaxPromptTokens = options.MaxPromptTokens,
        MaxTokens = options.MaxTokens,
        Context = model.Scheduler.Context,
    };

    /// <summary><c>POST /api/generate</c>: a completion of <c>prompt</c>, through the model's chat template unless <c>raw</c>.</summary>
    public async Task GenerateAsync(HttpContext context)
    {
        var total = Stopwatch.StartNew();
        var (host, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        var prompt = body.String("prompt") ?? "";
        var system = body.String("system");
        if (!string.IsNullOrEmpty(body.String("suffix"))) throw body.Bad("suffix", "is not supported (no fill-in-the-middle)");
        if (!string.IsNullOrEmpty(body.String("template"))) throw body.Bad("template", "is not supported: Hearth renders the model's own chat template (use raw for a prompt you templated yourself)");
        if (body.Get("images") is { } images && !(images.ValueKind == JsonValueKind.Array && images.GetArrayLength() == 0)) throw OllamaRequestException.BadRequest("images are not supported");
        if (body.Get("context") is { } ctx && !(ctx.ValueKind == JsonValueKind.Array && ctx.GetArrayLength() == 0)) throw body.Bad("context", "is not supported: send the whole prompt again, or use /api/chat");
        if (body.Bool("think") == true) throw body.Bad("think", "is not supported by this model");
        bool raw = body.Bool("raw") ?? false;
        var (stream, keepAlive, settings, format, lora) = ReadCommon(body);
        var (acquired, load) = await AcquireAsync(context, host, source, requested, keepAlive, loadOnly: prompt.Length == 0, chat: false).ConfigureAwait(false);
        if (acquired is not { } lease) return;
        using var _ = lease;
        var model = lease.Model;
        var limits = Limits(options, model);
        SequenceRequest sequence;
        ChatRequest? chatRequest = null;
        // Ollama's default template is the bare prompt: a model without a chat template of its own is continued as is.
        if (!raw && model.Model.File.Contains("tokenizer.chat_template"))
        {
            var messages = new List<ChatMessage>();
            if (!string.IsNullOrEmpty(system)) messages.Add(new ChatMessage(ChatRole.System, system));
            messages.Add(new ChatMessage(ChatRole.User, prompt));
            chatRequest = PrepareChat(model, messages, [], format, settings, limits);
            sequence = new SequenceRequest { Prompt = chatRequest.Prompt, Options = chatRequest.Options, Context = chatRequest.Context };
        }
        else
        {
            // num_predict and num_ctx are capped, as Ollama does, rather than refused.
            var (maxTokens, contextSize) = limits.Resolve(model.Model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true).Length, settings.MaxTokens, settings.Context);
            sequence = new CompletionRequest
            {
                Prompt = prompt,
                ParseSpecialTokens = true,
                MaxTokens = maxTokens,
                Stop = settings.Stop,
                Sampling = settings.Sampling,
                JsonObject = format.Kind == OllamaFormat.JsonObject,
                JsonSchema = format.Kind == OllamaFormat.JsonSchema ? format.Schema : null,
                Fields = CompletionFields.Ollama,
            }.Prepare(model.Model, contextSize, limits);
        }

        sequence = sequence with { Adapters = ModelRequests.Adapters(context, model.Model, lora) };
        await RunAsync(context, lease, sequence, chatRequest, chat: false, stream, requested, total, load).ConfigureAwait(false);
    }

    /// <summary><c>POST /api/chat</c>: the assistant's next message, with tool calls when <c>tools</c> were offered.</summary>
    public async Task ChatAsync(HttpContext context)
    {
        var total = Stopwatch.StartNew();
        var (host, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        var messages = OllamaChatInput.ReadMessages(body);
        var tools = OllamaChatInput.ReadTools(body);
        if (body.Bool("think") == true) throw body.Bad("think", "is not supported by this model");
        var (stream, keepAlive, settings, format, lora) = ReadCommon(body);
        var (acquired, load) = await AcquireAsync(context, host, source, requested, keepAlive, loadOnly: messages.Count == 0, chat: true).ConfigureAwait(false);
        if (acquired is not { } lease) return;
        using var _ = lease;
        var model = lease.Model;
        var request = PrepareChat(model, messages, tools, format, settings, Limits(options, model));
        var sequence = new SequenceRequest { Prompt = request.Prompt, Options = request.Options, Context = request.Context, Adapters = ModelRequests.Adapters(context, model.Model, lora) };
        await RunAsync(context, lease, sequence, request, chat: true, stream, requested, total, load).ConfigureAwait(false);
    }

    /// <summary>The fields <c>/api/generate</c> and <c>/api/chat</c> share, read (and so validated) before anything runs.</summary>
    private static (bool Stream, TimeSpan? KeepAlive, OllamaOptions Settings, (OllamaFormat Kind, JsonNode? Schema) Format, IReadOnlyList<Hearth.Models.Lora.AdapterReference> Lora) ReadCommon(OllamaJson body) =>
        (body.Bool("stream") ?? true, OllamaKeepAlive.Read(body), OllamaOptions.Read(body), OllamaChatInput.ReadFormat(body), ReadLora(body));

    /// <summary>
    /// The model for a request, and how long loading it took; a request with nothing to generate only loads (or with
    /// keep_alive 0 unloads) the model and is answered here, and gets no lease.
    /// </summary>
    private static async Task<(ModelRequests.Lease? Lease, TimeSpan Load)> AcquireAsync(HttpContext context, ModelHost host, IModelSource source, string requested,
        TimeSpan? keepAlive, bool loadOnly, bool chat)
    {
        if (loadOnly)
        {
            await LoadOnlyAsync(context, host, ModelRequests.CanonicalName(source, requested), requested, keepAlive, chat).ConfigureAwait(false);
            return (null, TimeSpan.Zero);
        }

        var loading = Stopwatch.StartNew();
        var lease = await ModelRequests.AcquireAsync(context, requested, keepAlive).ConfigureAwait(false);
        return (lease, loading.Elapsed);
    }

    /// <summary>The Hearth extension field <c>lora</c>: [{"name": ..., "scale": ...}] naming adapters of the server's directory.</summary>
    private static IReadOnlyList<Hearth.Models.Lora.AdapterReference> ReadLora(OllamaJson body) =>
        body.Get("lora") is null ? [] : ModelRequests.Lora(body.Objects("lora", ModelRequests.MaxAdapters).Select(o => (o.String("name"), o.Number("scale", -100, 100))));

    /// <summary>Renders the conversation through the model's template and applies the request's options and the server's limits.</summary>
    private static ChatRequest PrepareChat(LoadedModel model, List<ChatMessage> messages, List<AITool> tools,
        (OllamaFormat Kind, JsonNode? Schema) format, OllamaOptions settings, RequestLimits limits)
    {
        var chatOptions = new ChatOptions { ResponseFormat = OllamaChatInput.ToChatFormat(format) };
        if (tools.Count > 0)
        {
            chatOptions.Tools = tools;
            chatOptions.ToolMode = ChatToolMode.Auto;
        }

        var request = model.Chat.Prepare(messages, chatOptions);
        var (maxTokens, contextSize) = limits.Resolve(request.Prompt.Length, settings.MaxTokens, settings.Context);
        var generation = request.Options with { MaxTokens = maxTokens, Stop = settings.Stop, Sampling = settings.Sampling };
        generation.Validate();
        return request with { Context = contextSize, Options = generation };
    }

    /// <summary>An empty prompt (or no messages) loads the model, or with <c>keep_alive: 0</c> unloads it.</summary>
    private static async Task LoadOnlyAsync(HttpContext context, ModelHost host, string name, string requested, TimeSpan? keepAlive, bool chat)
    {
        string reason;
        if (keepAlive == TimeSpan.Zero)
        {
            host.Unload(name);
            reason = "unload";
        }
        else
        {
            (await host.AcquireAsync(name, keepAlive, context.RequestAborted).ConfigureAwait(false)).Dispose();
            reason = "load";
        }

        var answer = Head(requested, chat, "");
        answer["done"] = true;
        answer["done_reason"] = reason;
        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, answer).ConfigureAwait(false);
    }

    /// <summary>The fields every generate/chat object starts with; <paramref name="content"/> is the text of this piece.</summary>
    private static JsonObject Head(string model, bool chat, string content, JsonArray? toolCalls = null)
    {
        var o = new JsonObject { ["model"] = model, ["created_at"] = OllamaWire.Timestamp(DateTimeOffset.UtcNow) };
        if (chat)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
            if (toolCalls != null) message["tool_calls"] = toolCalls;
            o["message"] = message;
        }
        else
        {
            o["response"] = content;
        }

        return o;
    }

    /// <summary>
    /// Runs the sequence and writes it: NDJSON pieces then the final statistics, or one object. The lease ends when the
    /// generation does, before the final object is written, so a client that reads it sees the keep-alive applied
    /// (with <c>keep_alive: 0</c>, the model already unloaded).
    /// </summary>
    private static async Task RunAsync(HttpContext context, ModelRequests.Lease lease, SequenceRequest sequence, ChatRequest? chatRequest,
        bool chat, bool stream, string requested, Stopwatch total, TimeSpan load)
    {
        var model = lease.Model;
        // Ends the sequence however this request ends (a failed write included), not only when the client disconnects.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        bool finished = false;
        try
        {
            var handle = model.Scheduler.Submit(sequence, stop.Token);
            bool hold = chatRequest?.HoldText == true;
            var text = new StringBuilder();
            await foreach (var token in handle.Tokens.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (token.Text.Length == 0) continue;
                text.Append(token.Text);
                if (stream && !hold)
                {
                    var piece = Head(requested, chat, token.Text);
                    piece["done"] = false;
                    await OllamaWire.WriteLineAsync(context, piece).ConfigureAwait(false);
                }
            }

            var stats = await handle.Completion.ConfigureAwait(false);
            finished = true;
            if (stats.FinishReason == FinishReason.Cancelled) return;
            string content = text.ToString();
            JsonArray? toolCalls = null;
            if (hold) (content, toolCalls) = ToolCalls(model, chatRequest!, content);
            lease.Dispose();
            if (stream && hold && (content.Length > 0 || toolCalls != null))
            {
                var piece = Head(requested, chat, content, toolCalls);
                piece["done"] = false;
                await OllamaWire.WriteLineAsync(context, piece).ConfigureAwait(false);
            }

            var final = stream ? Head(requested, chat, "") : Head(requested, chat, content, toolCalls);
            final["done"] = true;
            final["done_reason"] = OllamaWire.DoneReason(stats.FinishReason);
            final["total_duration"] = OllamaWire.Nanoseconds(total.Elapsed);
            final["load_duration"] = OllamaWire.Nanoseconds(load);
            final["prompt_eval_count"] = stats.PromptTokens;
            final["prompt_eval_duration"] = OllamaWire.Nanoseconds(stats.PromptTime);
            final["eval_count"] = stats.GeneratedTokens;
            final["eval_duration"] = OllamaWire.Nanoseconds(stats.GenerationTime);
            if (stream) await OllamaWire.WriteLineAsync(context, final).ConfigureAwait(false);
            else await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, final).ConfigureAwait(false);
        }
        finally
        {
            if (!finished) await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The held text of a request that offered tools, as content and Ollama's <c>tool_calls</c>.</summary>
    private static (string Content, JsonArray? ToolCalls) ToolCalls(LoadedModel model, ChatRequest request, string text)
    {
        var constraints = model.Chat.Constraints ?? throw new NotSupportedException("the model's chat client cannot parse tool calls");
        var content = new StringBuilder();
        JsonArray? calls = null;
        foreach (var item in constraints.ToContents(request, text))
        {
            switch (item)
            {
                case TextContent t:
                    content.Append(t.Text);
                    break;
                case FunctionCallContent call:
                    calls ??= [];
                    calls.Add(new JsonObject
                    {
                        ["id"] = call.CallId,
                        ["function"] = new JsonObject
                        {
                            ["index"] = calls.Count,
                            ["name"] = call.Name,
                            ["arguments"] = JsonSerializer.SerializeToNode(call.Arguments ?? new Dictionary<string, object?>()) ?? new JsonObject(),
                        },
                    });
                    break;
            }
        }

        return (content.ToString(), calls);
    }
}
