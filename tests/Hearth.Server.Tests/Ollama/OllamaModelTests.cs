using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Models;
using Hearth.Serving;
using Hearth.Tests;

namespace Hearth.Server.Tests.Ollama;

/// <summary>The model endpoints: tags, show, ps, version, embed, load/unload, delete.</summary>
public sealed class OllamaModelTests(OllamaServerFixture fixture) : IClassFixture<OllamaServerFixture>
{
    private OllamaTestServer Server => fixture.Server;

    private static void AssertDetails(JsonNode? details)
    {
        Assert.Equal("gguf", details!["format"]!.GetValue<string>());
        Assert.Equal("llama", details["family"]!.GetValue<string>());
        Assert.Matches("^[0-9.]+[KMB]?$", details["parameter_size"]!.GetValue<string>());
        Assert.Equal("F32", details["quantization_level"]!.GetValue<string>());
    }

    [Fact]
    public async Task TagsListsTheModelWithSizeDigestAndDetails()
    {
        var tags = await Server.GetObjectAsync("/api/tags");
        var model = Assert.Single(tags["models"]!.AsArray())!;
        Assert.Equal(OllamaTestServer.Model, model["name"]!.GetValue<string>());
        Assert.Equal(OllamaTestServer.Model, model["model"]!.GetValue<string>());
        var path = Path.Combine(Server.Directory, OllamaTestServer.Model + ".gguf");
        Assert.Equal(new FileInfo(path).Length, model["size"]!.GetValue<long>());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))), model["digest"]!.GetValue<string>());
        Assert.True(DateTimeOffset.TryParse(model["modified_at"]!.GetValue<string>(), out _));
        AssertDetails(model["details"]);

        // The digest is cached: asking again gives the same answer.
        var again = await Server.GetObjectAsync("/api/tags");
        Assert.Equal(model["digest"]!.GetValue<string>(), again["models"]![0]!["digest"]!.GetValue<string>());
    }

    [Fact]
    public async Task ShowGivesTemplateDetailsMetadataAndCapabilities()
    {
        var show = await Server.PostObjectAsync("/api/show", new JsonObject { ["model"] = OllamaTestServer.Model });
        Assert.Contains("im_start", show["template"]!.GetValue<string>()); // stories260K has none: the built-in fallback is shown
        Assert.Contains("FROM stories", show["modelfile"]!.GetValue<string>());
        Assert.Contains("temperature", show["parameters"]!.GetValue<string>());
        AssertDetails(show["details"]);
        var info = show["model_info"]!.AsObject();
        Assert.Equal("llama", info["general.architecture"]!.GetValue<string>());
        Assert.Equal(2048, info["llama.context_length"]!.GetValue<long>());
        Assert.Equal(64, info["llama.embedding_length"]!.GetValue<long>());
        Assert.Empty(info["tokenizer.ggml.tokens"]!.AsArray()); // long arrays only with verbose
        Assert.Contains("completion", show["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));

        var verbose = await Server.PostObjectAsync("/api/show", new JsonObject { ["model"] = OllamaTestServer.Model, ["verbose"] = true });
        Assert.Equal(512, verbose["model_info"]!["tokenizer.ggml.tokens"]!.AsArray().Count);

        using var missing = await Server.PostAsync("/api/show", new JsonObject { ["model"] = "nope" });
        Assert.Contains("not found", await Server.ErrorAsync(missing, HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task VersionAnswersWithAVersionString()
    {
        var version = await Server.GetObjectAsync("/api/version");
        Assert.Matches(@"^\d+\.\d+", version["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task EmbedGivesOneVectorOfTheModelsWidthPerInput()
    {
        var one = await Server.PostObjectAsync("/api/embed", new JsonObject { ["model"] = OllamaTestServer.Model, ["input"] = "Once upon a time" });
        var vectors = one["embeddings"]!.AsArray();
        var vector = Assert.Single(vectors)!.AsArray();
        Assert.Equal(64, vector.Count); // llama.embedding_length of stories260K
        Assert.True(one["prompt_eval_count"]!.GetValue<long>() > 0);
        Assert.True(one["load_duration"]!.GetValue<long>() <= one["total_duration"]!.GetValue<long>());
        double norm = Math.Sqrt(vector.Sum(v => v!.GetValue<double>() * v.GetValue<double>()));
        Assert.InRange(norm, 0.999, 1.001);

        var two = await Server.PostObjectAsync("/api/embed", new JsonObject { ["model"] = OllamaTestServer.Model, ["input"] = new JsonArray("Once upon a time", "The cat sat") });
        Assert.Equal(2, two["embeddings"]!.AsArray().Count);
        Assert.All(two["embeddings"]!.AsArray(), v => Assert.Equal(64, v!.AsArray().Count));
        Assert.Equal(vector.ToJsonString(), two["embeddings"]![0]!.ToJsonString());

        var none = await Server.PostObjectAsync("/api/embed", new JsonObject { ["model"] = OllamaTestServer.Model, ["input"] = new JsonArray() });
        Assert.Empty(none["embeddings"]!.AsArray());

        var legacy = await Server.PostObjectAsync("/api/embeddings", new JsonObject { ["model"] = OllamaTestServer.Model, ["prompt"] = "Once upon a time" });
        Assert.Equal(vector.ToJsonString(), legacy["embedding"]!.ToJsonString());

        using var bad = await Server.PostAsync("/api/embed", new JsonObject { ["model"] = OllamaTestServer.Model, ["input"] = new JsonArray("a", 5) });
        Assert.Contains("input[1]", await Server.ErrorAsync(bad, HttpStatusCode.BadRequest));
        using var empty = await Server.PostAsync("/api/embed", new JsonObject { ["model"] = OllamaTestServer.Model, ["input"] = new JsonArray("a", "") });
        Assert.Contains("input[1]", await Server.ErrorAsync(empty, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task AnEmptyPromptLoadsTheModelAndKeepAliveZeroUnloadsIt()
    {
        Server.Host.Unload(OllamaTestServer.Model);
        var before = DateTimeOffset.UtcNow;
        var load = await Server.PostObjectAsync("/api/generate", new JsonObject { ["model"] = OllamaTestServer.Model, ["keep_alive"] = "10m" });
        var after = DateTimeOffset.UtcNow;
        Assert.True(load["done"]!.GetValue<bool>());
        Assert.Equal("load", load["done_reason"]!.GetValue<string>());
        Assert.Equal("", load["response"]!.GetValue<string>());

        var ps = await Server.GetObjectAsync("/api/ps");
        var running = Assert.Single(ps["models"]!.AsArray())!;
        Assert.Equal(OllamaTestServer.Model, running["name"]!.GetValue<string>());
        Assert.Equal(OllamaTestServer.Model, running["model"]!.GetValue<string>());
        Assert.Equal(Server.Host.Loaded[0].Bytes, running["size"]!.GetValue<long>());
        Assert.Equal(0, running["size_vram"]!.GetValue<long>());
        AssertDetails(running["details"]);
        var expires = DateTimeOffset.Parse(running["expires_at"]!.GetValue<string>());
        Assert.InRange(expires, before.AddMinutes(10), after.AddMinutes(10));

        var unload = await Server.PostObjectAsync("/api/generate", new JsonObject { ["model"] = OllamaTestServer.Model, ["keep_alive"] = 0 });
        Assert.Equal("unload", unload["done_reason"]!.GetValue<string>());
        Assert.Empty((await Server.GetObjectAsync("/api/ps"))["models"]!.AsArray());

        // Chat with no messages loads too.
        var chatLoad = await Server.PostObjectAsync("/api/chat", new JsonObject { ["model"] = OllamaTestServer.Model, ["messages"] = new JsonArray() });
        Assert.Equal("load", chatLoad["done_reason"]!.GetValue<string>());
        Assert.Equal("assistant", chatLoad["message"]!["role"]!.GetValue<string>());
        Assert.Single((await Server.GetObjectAsync("/api/ps"))["models"]!.AsArray());
    }

    [Fact]
    public async Task KeepAliveZeroOnAGenerationUnloadsTheModelAfterIt()
    {
        var answer = await Server.PostObjectAsync("/api/generate", new JsonObject
        {
            ["model"] = OllamaTestServer.Model, ["prompt"] = "Once", ["raw"] = true, ["stream"] = false, ["keep_alive"] = "0",
            ["options"] = new JsonObject { ["num_predict"] = 2 },
        });
        Assert.True(answer["done"]!.GetValue<bool>());
        Assert.Empty((await Server.GetObjectAsync("/api/ps"))["models"]!.AsArray());

        // A negative keep-alive keeps the model for ever.
        await Server.PostObjectAsync("/api/generate", new JsonObject { ["model"] = OllamaTestServer.Model, ["keep_alive"] = -1 });
        var running = Assert.Single((await Server.GetObjectAsync("/api/ps"))["models"]!.AsArray())!;
        Assert.True(DateTimeOffset.Parse(running["expires_at"]!.GetValue<string>()) > DateTimeOffset.UtcNow.AddYears(100));
    }

    [Fact]
    public async Task DeleteRemovesAModelAnd404sForAnUnknownOne()
    {
        using var unknown = await Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = JsonContent("""{"model":"nope"}""") });
        Assert.Contains("not found", await Server.ErrorAsync(unknown, HttpStatusCode.NotFound));

        File.Copy(TestData.Path("models", "stories260K.gguf"), Path.Combine(Server.Directory, "spare.gguf"));
        await Server.PostObjectAsync("/api/generate", new JsonObject { ["model"] = "spare" });
        using var deleted = await Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = JsonContent("""{"name":"spare"}""") });
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.False(File.Exists(Path.Combine(Server.Directory, "spare.gguf")));
        Assert.DoesNotContain(Server.Host.Loaded, m => m.Name == "spare");
        var tags = await Server.GetObjectAsync("/api/tags");
        Assert.DoesNotContain(tags["models"]!.AsArray(), m => m!["name"]!.GetValue<string>() == "spare");
    }

    [Fact]
    public async Task UnsupportedModelManagementAnswers501()
    {
        using var response = await Server.PostAsync("/api/copy", """{"source":"stories","destination":"x"}""");
        Assert.Contains("not supported", await Server.ErrorAsync(response, HttpStatusCode.NotImplemented));
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}

/// <summary><c>/api/pull</c> through sources that succeed, fail, or cannot pull.</summary>
public sealed class OllamaPullTests
{
    [Fact]
    public async Task PullStreamsTheSourcesProgressThenSuccess()
    {
        await using var server = await OllamaTestServer.StartAsync(dir => new DirectoryModelSource(dir)
        {
            Pull = async (name, progress, cancellation) =>
            {
                progress.Report(new PullStatus("pulling manifest"));
                var bytes = await File.ReadAllBytesAsync(TestData.Path("models", "stories260K.gguf"), cancellation);
                for (int done = 0; done <= bytes.Length; done += bytes.Length / 4)
                    progress.Report(new PullStatus("downloading sha256:abc", bytes.Length, done, "sha256:abc"));
                await File.WriteAllBytesAsync(Path.Combine(dir, name + ".gguf"), bytes, cancellation);
                progress.Report(new PullStatus("verifying sha256 digest"));
            },
        });
        var lines = await server.PostStreamAsync("/api/pull", new JsonObject { ["model"] = "fresh" });
        Assert.Equal("pulling manifest", lines[0]["status"]!.GetValue<string>());
        var downloads = lines.Where(l => l["status"]!.GetValue<string>().StartsWith("downloading", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, downloads.Count);
        Assert.All(downloads, d => Assert.Equal("sha256:abc", d["digest"]!.GetValue<string>()));
        Assert.Equal(downloads.Select(d => d["completed"]!.GetValue<long>()).Order(), downloads.Select(d => d["completed"]!.GetValue<long>()));
        Assert.Null(lines[0]["total"]);
        Assert.Equal("success", lines[^1]["status"]!.GetValue<string>());
        Assert.Single(lines[^1]);

        var tags = await server.GetObjectAsync("/api/tags");
        Assert.Contains(tags["models"]!.AsArray(), m => m!["name"]!.GetValue<string>() == "fresh");

        var quiet = await server.PostObjectAsync("/api/pull", new JsonObject { ["name"] = "fresh2", ["stream"] = false });
        Assert.Equal("success", quiet["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AFailingPullEndsItsStreamWithAnErrorObject()
    {
        await using var server = await OllamaTestServer.StartAsync(dir => new DirectoryModelSource(dir)
        {
            Pull = (name, progress, cancellation) =>
            {
                progress.Report(new PullStatus("pulling manifest"));
                throw new HttpRequestException("registry unreachable");
            },
        });
        var lines = await server.PostStreamAsync("/api/pull", new JsonObject { ["model"] = "fresh" });
        Assert.Equal("pulling manifest", lines[0]["status"]!.GetValue<string>());
        Assert.Equal("registry unreachable", lines[^1]["error"]!.GetValue<string>());
        Assert.DoesNotContain(lines, l => l["status"]?.GetValue<string>() == "success");

        using var quiet = await server.PostAsync("/api/pull", new JsonObject { ["model"] = "fresh", ["stream"] = false });
        Assert.Equal("registry unreachable", await server.ErrorAsync(quiet, HttpStatusCode.InternalServerError));
    }

    [Fact]
    public async Task ASourceThatCannotPullAnswersWithAnErrorStatus()
    {
        await using var server = await OllamaTestServer.StartAsync();
        using var response = await server.PostAsync("/api/pull", new JsonObject { ["model"] = "fresh" });
        Assert.Contains("cannot pull", await server.ErrorAsync(response, HttpStatusCode.NotImplemented));
        using var nameless = await server.PostAsync("/api/pull", new JsonObject { ["stream"] = false });
        Assert.Contains("model is required", await server.ErrorAsync(nameless, HttpStatusCode.BadRequest));
    }
}

/// <summary>A full queue and a client that goes away.</summary>
public sealed class OllamaBusyTests
{
    /// <summary>Holds the model's scheduler thread until released, so requests wait in its queue.</summary>
    private static async Task<(ModelLease Lease, TaskCompletionSource Release, Task Job)> BlockAsync(OllamaTestServer server)
    {
        var lease = await server.Host.AcquireAsync(OllamaTestServer.Model, TimeSpan.FromMinutes(10));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var job = lease.Model.Scheduler.RunExclusiveAsync(_ =>
        {
            started.SetResult();
            release.Task.Wait();
            return 0;
        });
        await started.Task;
        return (lease, release, job);
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!condition())
        {
            Assert.False(timeout.IsCancellationRequested, $"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    private static JsonObject Long() => new()
    {
        ["model"] = OllamaTestServer.Model, ["prompt"] = "Once upon a time", ["raw"] = true,
        ["options"] = new JsonObject { ["num_predict"] = 64 },
    };

    [Fact]
    public async Task AFullQueueAnswers429WithRetryAfter()
    {
        await using var server = await OllamaTestServer.StartAsync(scheduler: new SchedulerOptions { Parallel = 1, MaxQueue = 0, Context = 256 });
        var (lease, release, job) = await BlockAsync(server);
        var scheduler = lease.Model.Scheduler;
        var first = server.PostAsync("/api/generate", Long());
        await WaitUntil(() => scheduler.QueueDepth == 1, "the first request waits in the queue");

        using (var busy = await server.PostAsync("/api/generate", Long()))
        {
            Assert.Contains("busy", await server.ErrorAsync(busy, HttpStatusCode.TooManyRequests));
            Assert.NotNull(busy.Headers.RetryAfter);
        }

        release.SetResult();
        await job;
        using var answer = await first;
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        lease.Dispose();
    }

    [Fact]
    public async Task AClientThatDisconnectsCancelsItsGeneration()
    {
        await using var server = await OllamaTestServer.StartAsync(scheduler: new SchedulerOptions { Parallel = 1, MaxQueue = 4, Context = 256 });
        var (lease, release, job) = await BlockAsync(server);
        var scheduler = lease.Model.Scheduler;
        using var abandon = new CancellationTokenSource();
        var request = server.PostAsync("/api/generate", Long(), abandon.Token);
        await WaitUntil(() => scheduler.QueueDepth == 1, "the request waits in the queue");
        abandon.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        await WaitUntil(() => server.AbortedRequests == 1, "the server sees the disconnect");
        release.SetResult();
        await job;
        await WaitUntil(() => scheduler.Idle && scheduler.Counters.Cancelled == 1, "the generation is cancelled");
        Assert.Equal(0, scheduler.Counters.GeneratedTokens);
        lease.Dispose();
    }
}
