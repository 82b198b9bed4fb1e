using System.Text.Json;
using Hearth.Chat;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Server;

/// <summary>What the routes that run a model share: the model field, keep-alive, stop lists, leases and the metrics.</summary>
internal static class ModelRequests
{
    /// <summary>Longest model name accepted from a request (names are checked again by the model source).</summary>
    public const int MaxModelNameLength = 256;

    public static string RequireModel(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) throw ApiException.BadRequest("model is required", "model");
        if (model.Length > MaxModelNameLength) throw ApiException.BadRequest($"model names are at most {MaxModelNameLength} characters", "model");
        return model;
    }

    /// <summary>A keep-alive given as seconds (a number) or a duration (<c>"5m"</c>); negative keeps the model loaded.</summary>
    public static TimeSpan? KeepAlive(JsonElement? value, string param = "keep_alive")
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) return null;
        try
        {
            return e.ValueKind switch
            {
                JsonValueKind.Number when e.TryGetDouble(out var seconds) => Durations.FromSeconds(seconds),
                JsonValueKind.String => Durations.Parse(e.GetString()!),
                _ => throw new FormatException($"{param} must be a number of seconds or a duration such as \"5m\""),
            };
        }
        catch (FormatException f)
        {
            throw ApiException.BadRequest($"{param}: {f.Message}", param);
        }
    }

    /// <summary>A stop field: a string or an array of up to 16 non-empty strings.</summary>
    public static IReadOnlyList<string> Stop(JsonElement? value, string param = "stop")
    {
        if (value is not { } e || e.ValueKind == JsonValueKind.Null) return [];
        List<string> list;
        if (e.ValueKind == JsonValueKind.String)
        {
            list = [e.GetString()!];
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            if (e.GetArrayLength() > 16) throw ApiException.BadRequest($"{param} has {e.GetArrayLength()} strings; at most 16 are allowed", param);
            list = [];
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"{param} must hold only strings", param);
                list.Add(item.GetString()!);
            }
        }
        else
        {
            throw ApiException.BadRequest($"{param} must be a string or an array of strings", param);
        }

        foreach (var s in list)
        {
            if (s.Length == 0) throw ApiException.BadRequest($"{param}: a stop string is empty", param);
            if (s.Length > 1000) throw ApiException.BadRequest($"{param}: a stop string is longer than 1000 characters", param);
        }

        return list;
    }

    /// <summary>Most adapters one request may apply.</summary>
    public const int MaxAdapters = 8;

    /// <summary>The <c>lora</c> field's entries as references by name (validated: a name, a finite scale).</summary>
    public static IReadOnlyList<Hearth.Models.Lora.AdapterReference> Lora(IEnumerable<(string? Name, double? Scale)>? entries)
    {
        if (entries == null) return [];
        var list = new List<Hearth.Models.Lora.AdapterReference>();
        foreach (var (name, scale) in entries)
        {
            // InvalidRequestException: both APIs' error mappers answer it with a 400 naming the field.
            if (list.Count == MaxAdapters) throw new InvalidRequestException("lora", $"lora: at most {MaxAdapters} adapters per request");
            if (string.IsNullOrWhiteSpace(name)) throw new InvalidRequestException("lora", "lora: every adapter needs a name");
            if (scale is double v && !(v >= -100 && v <= 100)) throw new InvalidRequestException("lora", $"lora: scale {v} of '{name}' must be within -100..100");
            list.Add(new Hearth.Models.Lora.AdapterReference(name, (float)(scale ?? 1)));
        }

        return list;
    }

    /// <summary>
    /// Loads the adapters a request names for the model. Names resolve only to files of the server's adapter directory
    /// (<see cref="HearthServerOptions.LoraDirectory"/>); anything else is a 400.
    /// </summary>
    public static IReadOnlyList<ActiveAdapter> Adapters(HttpContext context, LanguageModel model, IReadOnlyList<Hearth.Models.Lora.AdapterReference> lora)
    {
        if (lora.Count == 0) return [];
        var dir = context.RequestServices.GetRequiredService<HearthServerOptions>().LoraDirectory
            ?? throw new InvalidRequestException("lora", "lora: this server has no adapters (start it with --lora-dir DIR)");
        return model.Adapters.Resolve(lora, new Hearth.Models.Lora.AdapterDirectory(dir));
    }

    /// <summary>The sampler fields both OpenAI routes take, each within OpenAI's range (400 naming the first that is not).</summary>
    public static void CheckSampling(double? temperature, double? topP, double? minP, double? presencePenalty, double? frequencyPenalty, int? topK)
    {
        CheckRange(temperature, 0, 2, "temperature");
        CheckRange(topP, 0, 1, "top_p");
        CheckRange(minP, 0, 1, "min_p");
        CheckRange(presencePenalty, -2, 2, "presence_penalty");
        CheckRange(frequencyPenalty, -2, 2, "frequency_penalty");
        CheckRange(topK, 0, 1_000_000, "top_k");
    }

    public static void CheckRange(double? value, double min, double max, string param)
    {
        if (value is double v && (double.IsNaN(v) || v < min || v > max))
            throw ApiException.BadRequest($"{param} {v} must be within {min}..{max}", param);
    }

    /// <summary>
    /// Leases the model (loading it on first use) under its canonical name, so <c>name</c> and <c>name:latest</c> share one
    /// loaded copy; the lease's end folds its scheduler's counters into the metrics, whichever API served the request.
    /// </summary>
    public static async Task<Lease> AcquireAsync(HttpContext context, string model, TimeSpan? keepAlive)
    {
        var host = context.RequestServices.GetRequiredService<ModelHost>();
        // Only a ":latest" name needs the source's opinion; any other name is looked up once, by the host, when it loads.
        var name = model.EndsWith(LatestTag, StringComparison.Ordinal) ? CanonicalName(context.RequestServices.GetRequiredService<IModelSource>(), model) : model;
        var lease = await host.AcquireAsync(name, keepAlive, context.RequestAborted).ConfigureAwait(false);
        return new Lease(lease, context.RequestServices.GetRequiredService<ServerMetrics>());
    }

    private const string LatestTag = ":latest";

    /// <summary>The source's name for a requested model (<c>name:latest</c> also finds <c>name</c>).</summary>
    /// <exception cref="Hearth.Store.ModelNotFoundException">The source has no such model.</exception>
    public static string CanonicalName(IModelSource source, string name)
    {
        const string latest = LatestTag;
        try
        {
            source.Resolve(name);
            return name;
        }
        catch (Hearth.Store.ModelNotFoundException) when (name.EndsWith(latest, StringComparison.Ordinal) && name.Length > latest.Length)
        {
            var bare = name[..^latest.Length];
            source.Resolve(bare);
            return bare;
        }
    }

    /// <summary>
    /// Runs the preparation of a request (rendering, tokenizing, compiling constraints): anything it refuses is the
    /// client's doing, so it becomes a 400 naming <paramref name="param"/> unless the exception names a field itself.
    /// </summary>
    public static T Prepare<T>(Func<T> prepare, Func<Exception, string?> param)
    {
        try
        {
            return prepare();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or GrammarException or TemplateException or ChatInputException or FormatException)
        {
            throw ApiException.BadRequest(e.Message.Split(" (Parameter '", 2)[0], param(e));
        }
    }

    /// <summary>A model lease that reports its scheduler's work to the metrics when the request ends.</summary>
    public sealed class Lease(ModelLease lease, ServerMetrics metrics) : IDisposable
    {
        public LoadedModel Model => lease.Model;

        public void Dispose()
        {
            metrics.Observe(lease.Model.Scheduler);
            lease.Dispose();
        }
    }
}

/// <summary>Server-sent events: <c>data: {json}\n\n</c> frames, flushed one by one.</summary>
internal sealed class SseWriter(HttpContext context)
{
    private static readonly byte[] s_prefix = "data: "u8.ToArray();
    private static readonly byte[] s_end = "\n\n"u8.ToArray();

    public bool Started { get; private set; }

    public async Task StartAsync()
    {
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
        Started = true;
    }

    public Task WriteAsync<T>(T value) => WriteRawAsync(JsonSerializer.SerializeToUtf8Bytes(value, ServerJson.Options));

    public Task WriteDoneAsync() => WriteRawAsync("[DONE]"u8.ToArray());

    /// <summary>An error after the answer started: an event with the error object (the status can no longer change).</summary>
    public Task WriteErrorAsync(ApiException error) => WriteRawAsync(System.Text.Encoding.UTF8.GetBytes(ApiErrors.ToJson(error)));

    private async Task WriteRawAsync(byte[] payload)
    {
        var body = context.Response.Body;
        var token = context.RequestAborted;
        await body.WriteAsync(s_prefix, token).ConfigureAwait(false);
        await body.WriteAsync(payload, token).ConfigureAwait(false);
        await body.WriteAsync(s_end, token).ConfigureAwait(false);
        await body.FlushAsync(token).ConfigureAwait(false);
    }
}
