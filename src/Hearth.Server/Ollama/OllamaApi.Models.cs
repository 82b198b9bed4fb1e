using Hearth.Store;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Hearth.Chat;
using Hearth.Gguf;
using Hearth.Sampling;
using Hearth.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Ollama;

internal sealed partial class OllamaApi
{
    public const int MaxEmbedInputs = 2048;

    /// <summary><c>POST /api/embed</c>: <c>input</c> (a string or strings) → <c>embeddings</c> (one array per input).</summary>
    public async Task EmbedAsync(HttpContext context)
    {
        var total = Stopwatch.StartNew();
        var (host, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        var inputs = body.Strings("input", MaxEmbedInputs, int.MaxValue, nonEmpty: false) ?? [];
        _ = body.Bool("truncate");
        var keepAlive = OllamaKeepAlive.Read(body);
        var loading = Stopwatch.StartNew();
        using var lease = await ModelRequests.AcquireAsync(context, requested, keepAlive).ConfigureAwait(false);
        var load = loading.Elapsed;
        var embeddings = new JsonArray();
        long tokens = 0;
        if (inputs.Count > 0)
        {
            CheckInputs(lease.Model, inputs, options, "input");
            var generated = await lease.Model.Embeddings.GenerateAsync(inputs, null, context.RequestAborted).ConfigureAwait(false);
            foreach (var e in generated) embeddings.Add(Vector(e.Vector.Span));
            tokens = generated.Usage?.InputTokenCount ?? 0;
        }

        lease.Dispose(); // before answering, so that keep_alive 0 has unloaded the model when the client reads the answer

        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject
        {
            ["model"] = requested,
            ["embeddings"] = embeddings,
            ["total_duration"] = OllamaWire.Nanoseconds(total.Elapsed),
            ["load_duration"] = OllamaWire.Nanoseconds(load),
            ["prompt_eval_count"] = tokens,
        }).ConfigureAwait(false);
    }

    /// <summary><c>POST /api/embeddings</c> (superseded by <c>/api/embed</c>): <c>prompt</c> → <c>embedding</c>.</summary>
    public async Task LegacyEmbeddingsAsync(HttpContext context)
    {
        var (host, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        var prompt = body.String("prompt") ?? "";
        var keepAlive = OllamaKeepAlive.Read(body);
        using var lease = await ModelRequests.AcquireAsync(context, requested, keepAlive).ConfigureAwait(false);
        var embedding = new JsonArray();
        if (prompt.Length > 0)
        {
            CheckInputs(lease.Model, [prompt], options, "prompt");
            var generated = await lease.Model.Embeddings.GenerateAsync([prompt], null, context.RequestAborted).ConfigureAwait(false);
            embedding = Vector(generated[0].Vector.Span);
        }

        lease.Dispose();

        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["embedding"] = embedding }).ConfigureAwait(false);
    }

    /// <summary>Refuses inputs that are empty or longer than the prompt limit before the model's thread sees them.</summary>
    private static void CheckInputs(LoadedModel model, IReadOnlyList<string> inputs, HearthServerOptions options, string field)
    {
        for (int i = 0; i < inputs.Count; i++)
        {
            string at = inputs.Count == 1 && field == "prompt" ? field : $"{field}[{i}]";
            if (inputs[i].Length == 0) throw OllamaRequestException.BadRequest($"{at} is empty");
            int tokens = model.Model.Tokenizer.Encode(inputs[i], addSpecial: true).Length;
            if (tokens > options.MaxPromptTokens) throw OllamaRequestException.BadRequest($"{at} has {tokens} tokens; at most {options.MaxPromptTokens} are accepted");
            if (tokens > model.Model.Context) throw OllamaRequestException.BadRequest($"{at} has {tokens} tokens but the model's context holds {model.Model.Context}");
        }
    }

    private static JsonArray Vector(ReadOnlySpan<float> values)
    {
        var array = new JsonArray();
        foreach (var v in values) array.Add(v);
        return array;
    }

    /// <summary><c>GET /api/tags</c>: every model the source can serve.</summary>
    public async Task TagsAsync(HttpContext context)
    {
        var (_, source, _) = Services(context);
        var models = new JsonArray();
        foreach (var entry in source.List())
        {
            OllamaModelFacts facts;
            try
            {
                facts = await catalog.FactsAsync(entry.Path).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HearthException)
            {
                // A file that cannot be read cannot be served either: it is left out of the list, not faked.
                context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Hearth.Server.Ollama")
                    .LogWarning("model {Name} left out of /api/tags: {Problem}", entry.Name, e.Message);
                continue;
            }

            models.Add(new JsonObject
            {
                ["name"] = entry.Name,
                ["model"] = entry.Name,
                ["modified_at"] = OllamaWire.Timestamp(entry.Modified),
                ["size"] = entry.Size,
                ["digest"] = facts.Digest,
                ["details"] = facts.Details(),
            });
        }

        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["models"] = models }).ConfigureAwait(false);
    }

    /// <summary><c>POST /api/show</c>: template, parameters, details, GGUF metadata and capabilities of a model.</summary>
    public async Task ShowAsync(HttpContext context)
    {
        var (_, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        bool verbose = body.Bool("verbose") ?? false;
        var name = ModelRequests.CanonicalName(source, requested);
        var path = source.Resolve(name);
        var facts = await catalog.FactsAsync(path).ConfigureAwait(false);
        JsonObject answer;
        using (var file = GgufFile.Open(path))
        {
            string template;
            try
            {
                template = ChatTemplate.ForModel(file).Source;
            }
            catch (TemplateException)
            {
                template = file.GetString("tokenizer.chat_template") ?? "";
            }

            var parameters = Parameters();
            var info = new JsonObject();
            foreach (var (key, value) in file.MetadataList)
            {
                // The template has its own field; long arrays (vocabularies, merges) only when asked for, as Ollama does.
                if (key.StartsWith("tokenizer.chat_template", StringComparison.Ordinal)) continue;
                info[key] = MetadataValue(value.Value, verbose);
            }

            var capabilities = new JsonArray("completion");
            if (template.Contains("tools", StringComparison.Ordinal)) capabilities.Add("tools");
            if (file.Contains($"{file.GetString("general.architecture")}.pooling_type")) capabilities.Add("embedding");
            answer = new JsonObject
            {
                ["modelfile"] = $"# Modelfile generated by Hearth\nFROM {name}\nTEMPLATE \"\"\"{template}\"\"\"\n"
                    + string.Concat(parameters.Select(p => $"PARAMETER {p.Key} {p.Value}\n")),
                ["parameters"] = string.Join("\n", parameters.Select(p => $"{p.Key,-30} {p.Value}")),
                ["template"] = template,
                ["details"] = facts.Details(),
                ["model_info"] = info,
                ["capabilities"] = capabilities,
                ["modified_at"] = OllamaWire.Timestamp(File.GetLastWriteTimeUtc(path)),
            };
        }

        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, answer).ConfigureAwait(false);
    }

    /// <summary>The sampler settings a request gets when it names none.</summary>
    private static List<KeyValuePair<string, string>> Parameters()
    {
        var d = new SamplerOptions();
        var c = CultureInfo.InvariantCulture;
        return
        [
            new("temperature", d.Temperature.ToString(c)),
            new("top_k", d.TopK.ToString(c)),
            new("top_p", d.TopP.ToString(c)),
            new("min_p", d.MinP.ToString(c)),
            new("repeat_penalty", d.RepeatPenalty.ToString(c)),
            new("repeat_last_n", d.PenaltyLastN.ToString(c)),
        ];
    }

    private static JsonNode? MetadataValue(object value, bool verbose) => value switch
    {
        string s => s,
        bool b => b,
        float f when float.IsFinite(f) => f,
        double d when double.IsFinite(d) => d,
        float or double => Convert.ToString(value, CultureInfo.InvariantCulture),
        GgufArray a => Array(a, verbose),
        byte or sbyte or short or ushort or int or uint or long => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        ulong u => u,
        _ => value.ToString(),
    };

    private static JsonArray Array(GgufArray a, bool verbose)
    {
        var result = new JsonArray();
        if (!verbose && a.Count > GgufDescription.ArrayPreview) return result;
        for (int i = 0; i < a.Count; i++) result.Add(MetadataValue(a.Items.GetValue(i)!, verbose));
        return result;
    }

    /// <summary><c>GET /api/ps</c>: the loaded models, most recently used first.</summary>
    public async Task RunningAsync(HttpContext context)
    {
        var (host, _, _) = Services(context);
        var models = new JsonArray();
        foreach (var m in host.Loaded)
        {
            JsonObject details;
            string digest;
            try
            {
                var facts = await catalog.FactsAsync(m.Path).ConfigureAwait(false);
                (details, digest) = (facts.Details(), facts.Digest);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or HearthException)
            {
                // The loaded file was replaced or removed on disk; the model in memory is still described by its metadata.
                var (family, size, quantization) = OllamaModelFacts.Describe(m.Model.File);
                (details, digest) = (new OllamaModelFacts("", family, size, quantization).Details(), "");
            }

            models.Add(new JsonObject
            {
                ["name"] = m.Name,
                ["model"] = m.Name,
                ["size"] = m.Bytes,
                ["digest"] = digest,
                ["details"] = details,
                ["expires_at"] = OllamaWire.Timestamp(m.ExpiresAt),
                ["size_vram"] = 0,
                ["context_length"] = m.Scheduler.Context,
            });
        }

        await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["models"] = models }).ConfigureAwait(false);
    }

    /// <summary><c>POST /api/pull</c>: downloads through the source, streaming its progress (or one object).</summary>
    public async Task PullAsync(HttpContext context)
    {
        var (_, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var name = body.ModelName();
        bool stream = body.Bool("stream") ?? true;
        _ = body.Bool("insecure");
        var updates = Channel.CreateUnbounded<PullStatus>(new UnboundedChannelOptions { SingleReader = true });
        var progress = new ChannelProgress(updates.Writer);
        var pulling = Task.Run(async () =>
        {
            try
            {
                await source.PullAsync(name, progress, context.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                updates.Writer.TryComplete();
            }
        }, CancellationToken.None);

        await foreach (var status in updates.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (!stream) continue;
            var line = new JsonObject { ["status"] = status.Status };
            if (status.Digest != null) line["digest"] = status.Digest;
            if (status.Total is long t) line["total"] = t;
            if (status.Completed is long c) line["completed"] = c;
            await OllamaWire.WriteLineAsync(context, line).ConfigureAwait(false);
        }

        // A failure before any progress is a plain error response; after, the stream's last line (see Handle).
        await pulling.ConfigureAwait(false);
        var success = new JsonObject { ["status"] = "success" };
        if (stream) await OllamaWire.WriteLineAsync(context, success).ConfigureAwait(false);
        else await OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, success).ConfigureAwait(false);
    }

    /// <summary>Progress reports into a channel, in order, on the reporting thread (no synchronisation context involved).</summary>
    private sealed class ChannelProgress(ChannelWriter<PullStatus> writer) : IProgress<PullStatus>
    {
        public void Report(PullStatus value)
        {
            if (value != null) writer.TryWrite(value);
        }
    }

    /// <summary><c>DELETE /api/delete</c>: unloads and deletes a model; 404 when there is none.</summary>
    public async Task DeleteAsync(HttpContext context)
    {
        var (host, source, options) = Services(context);
        var body = await OllamaJson.ReadBodyAsync(context, options.MaxRequestBodyBytes).ConfigureAwait(false);
        var requested = body.ModelName();
        string name;
        try
        {
            name = ModelRequests.CanonicalName(source, requested);
        }
        catch (ModelNotFoundException)
        {
            throw new OllamaRequestException(StatusCodes.Status404NotFound, $"model '{requested}' not found");
        }

        host.Unload(name);
        if (!source.Delete(name)) throw new OllamaRequestException(StatusCodes.Status404NotFound, $"model '{requested}' not found");
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary><c>GET /api/version</c>: Hearth's version.</summary>
    public static Task VersionAsync(HttpContext context)
    {
        var version = typeof(ModelHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(ModelHost).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0) version = version[..plus];
        return OllamaWire.WriteJsonAsync(context, StatusCodes.Status200OK, new JsonObject { ["version"] = version });
    }
}
