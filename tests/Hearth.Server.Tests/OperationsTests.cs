using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Serving;

namespace Hearth.Server.Tests;

/// <summary>Health while loading, metrics, cancellation by disconnect, back-pressure, and determinism under load.</summary>
public sealed class OperationsTests
{
    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Chat(int seed, int maxTokens, bool stream = false) =>
        $$"""{"model":"stories","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":{{maxTokens}},"seed":{{seed}},"temperature":1,"stream":{{(stream ? "true" : "false")}}}""";

    /// <summary>Blocks the model's scheduler thread (as a long step would) until the returned gate is released.</summary>
    private static async Task<ManualResetEventSlim> BlockScheduler(SequenceScheduler scheduler)
    {
        var gate = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = scheduler.RunExclusiveAsync(_ =>
        {
            entered.SetResult();
            gate.Wait();
            return 0;
        });
        await entered.Task;
        return gate;
    }

    [Fact]
    public async Task HealthIs503WhileAModelLoadsAnd200After()
    {
        using var gate = new ManualResetEventSlim();
        await using var server = await RunningServer.StartAsync(host: source => RunningServer.HostFor(source, resolve: name =>
        {
            gate.Wait();
            return source.Resolve(name);
        }));
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);

        var request = server.Http.PostAsync("/v1/chat/completions", Body(Chat(1, 4)));
        await RunningServer.WaitUntil(() => server.Host.IsLoading, "the model is loading");
        var loading = await server.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
        Assert.Equal("loading", JsonNode.Parse(await loading.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());

        gate.Set();
        Assert.Equal(HttpStatusCode.OK, (await request).StatusCode);
        var ready = await server.Http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ok", JsonNode.Parse(await ready.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task MetricsCountRequestsTokensAndLoadedModels()
    {
        await using var server = await RunningServer.StartAsync();
        var answer = JsonNode.Parse(await (await server.Http.PostAsync("/v1/chat/completions", Body(Chat(3, 10)))).Content.ReadAsStringAsync())!;
        await server.Http.PostAsync("/v1/chat/completions", Body("{"));
        await server.Http.GetAsync("/nowhere/../etc");
        var response = await server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        double Value(string series) => double.Parse(Assert.Single(lines, l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(1, Value("hearth_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"));
        Assert.Equal(1, Value("hearth_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"));
        Assert.Equal(1, Value("hearth_requests_total{endpoint=\"unmatched\",status=\"404\"}"));
        Assert.Equal(answer["usage"]!["prompt_tokens"]!.GetValue<int>(), Value("hearth_prompt_tokens_total"));
        Assert.Equal(answer["usage"]!["completion_tokens"]!.GetValue<int>(), Value("hearth_generated_tokens_total"));
        Assert.True(Value("hearth_prompt_seconds_total") > 0);
        Assert.True(Value("hearth_generation_seconds_total") >= 0);
        Assert.Equal(0, Value("hearth_queue_depth{model=\"stories\"}"));
        Assert.Equal(0, Value("hearth_active_sequences{model=\"stories\"}"));
        Assert.Equal(server.Host.Loaded.Single().Bytes, Value("hearth_model_bytes{model=\"stories\"}"));
        Assert.Contains("# TYPE hearth_requests_total counter", lines);
        Assert.Contains("# TYPE hearth_model_bytes gauge", lines);
    }

    [Fact]
    public async Task AClientThatDisconnectsCancelsItsGeneration()
    {
        await using var server = await RunningServer.StartAsync();
        await server.Http.PostAsync("/v1/chat/completions", Body(Chat(1, 2)));
        var scheduler = server.Host.Loaded.Single().Scheduler;
        using var gate = await BlockScheduler(scheduler);

        using var cts = new CancellationTokenSource();
        var request = server.Http.PostAsync("/v1/chat/completions", Body(Chat(2, 2000, stream: true)), cts.Token);
        await RunningServer.WaitUntil(() => scheduler.QueueDepth == 1, "the request is queued");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        // The server sees the connection close and cancels the request; the scheduler drops it when it next looks (and
        // were it admitted first, it would stop at its next token: 2000 tokens leave plenty of room either way).
        await Task.Delay(50);
        gate.Set();
        await RunningServer.WaitUntil(() => scheduler.Counters.Cancelled == 1, "the generation was cancelled");
        await RunningServer.WaitUntil(() => scheduler.Idle, "the scheduler is idle");
        Assert.Equal(0, scheduler.Active);
    }

    [Fact]
    public async Task AFullQueueIs429WithRetryAfter()
    {
        await using var server = await RunningServer.StartAsync(host: source => RunningServer.HostFor(source, parallel: 1, maxQueue: 0));
        Assert.Equal(HttpStatusCode.OK, (await server.Http.PostAsync("/v1/chat/completions", Body(Chat(1, 2)))).StatusCode);
        var scheduler = server.Host.Loaded.Single().Scheduler;
        var gate = await BlockScheduler(scheduler);

        var first = server.Http.PostAsync("/v1/chat/completions", Body(Chat(2, 20)));
        await RunningServer.WaitUntil(() => scheduler.QueueDepth == 1, "the first request holds the only sequence");
        var refused = await server.Http.PostAsync("/v1/chat/completions", Body(Chat(3, 20)));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Contains("server_busy", await refused.Content.ReadAsStringAsync());
        var streamed = await server.Http.PostAsync("/v1/completions", Body("""{"model":"stories","prompt":"Hi","stream":true}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, streamed.StatusCode);

        gate.Set();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        gate.Dispose();
    }

    [Fact]
    public async Task TheSameSeedGivesTheSameTextAloneAndAmongOtherStreams()
    {
        await using var server = await RunningServer.StartAsync();
        async Task<string> Text(string request)
        {
            var body = JsonNode.Parse(await (await server.Http.PostAsync("/v1/chat/completions", Body(request))).Content.ReadAsStringAsync())!;
            return body["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        }

        async Task<string> Streamed(string request)
        {
            var body = await (await server.Http.PostAsync("/v1/chat/completions", Body(request))).Content.ReadAsStringAsync();
            var text = new StringBuilder();
            foreach (var frame in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
            {
                var data = frame["data: ".Length..];
                if (data == "[DONE]") break;
                text.Append(JsonNode.Parse(data)!["choices"]![0]!["delta"]!["content"]?.GetValue<string>());
            }

            return text.ToString();
        }

        var alone = await Text(Chat(42, 60));
        var others = Enumerable.Range(0, 3).Select(i => Streamed(Chat(100 + i, 200, stream: true))).ToList();
        var together = await Streamed(Chat(42, 60, stream: true));
        await Task.WhenAll(others);
        Assert.Equal(alone, together);
        Assert.NotEmpty(alone);
    }
}
