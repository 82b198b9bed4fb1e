using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hearth.Serving;
using Hearth.Tests;

namespace Hearth.Server.Tests;

/// <summary>
/// A bounded loopback load test: 32 streaming clients hammer one model for a fixed time (60 s unless
/// HEARTH_LOAD_SECONDS says otherwise). No 5xx may occur; every stream either completes or is refused with 429;
/// clients that hang up free their sequence; the managed heap does not grow.
/// </summary>
public sealed class LoadTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const int Clients = 32;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-load-test-");
    private ModelHost _host = null!;
    private Microsoft.AspNetCore.Builder.WebApplication _app = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        File.Copy(TestData.Path("models", "stories260K.gguf"), Path.Combine(_dir.FullName, "stories.gguf"));
        var options = new HearthServerOptions { Port = 0, ModelsDirectory = _dir.FullName, Parallel = 4, MaxQueue = 8, Threads = 2 };
        var source = new DirectoryModelSource(_dir.FullName);
        _host = new ModelHost(new ModelHostOptions
        {
            Resolve = source.Resolve,
            Threads = 2,
            Scheduler = new SchedulerOptions { Parallel = options.Parallel, MaxQueue = options.MaxQueue, Context = 256 },
        });
        _app = HearthServer.Build(options, _host, source);
        await _app.StartAsync();
        _base = new Uri(HearthServer.Addresses(_app)[0]);
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _host.Dispose();
        _dir.Delete(recursive: true);
    }

    private sealed class Tally
    {
        public int Completed, Refused, HungUp, ServerErrors, Broken;
        public List<string> Problems { get; } = [];

        public void Problem(string p)
        {
            lock (Problems)
            {
                if (Problems.Count < 10) Problems.Add(p);
            }
        }
    }

    [Fact]
    public async Task ThirtyTwoStreamingClientsGetCompleteStreamsOr429AndNothingLeaks()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("HEARTH_LOAD_SECONDS"), out var s) && s > 0 ? s : 60;
        using var http = new HttpClient { BaseAddress = _base, Timeout = TimeSpan.FromSeconds(120) };
        var tally = new Tally();
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        long heapAfterWarmUp = 0;

        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            var rng = new Random(c);
            for (int i = 0; DateTime.UtcNow < end; i++)
            {
                bool hangUp = (c + i) % 5 == 0;
                await OneStream(http, rng, hangUp, tally);
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, seconds / 3.0)));
        heapAfterWarmUp = HeapBytes();
        await Task.WhenAll(clients);

        output.WriteLine($"{seconds} s: {tally.Completed} streams completed, {tally.Refused} refused with 429, {tally.HungUp} hung up, {tally.ServerErrors} 5xx, {tally.Broken} broken");
        Assert.True(tally.ServerErrors == 0, $"{tally.ServerErrors} responses were 5xx: {string.Join("; ", tally.Problems)}");
        Assert.True(tally.Broken == 0, $"{tally.Broken} streams ended without [DONE] or a finish reason: {string.Join("; ", tally.Problems)}");
        Assert.True(tally.Completed > Clients, $"only {tally.Completed} streams completed");
        Assert.True(tally.HungUp > 0, "no client hung up mid-stream");

        // Every slot is free again once the hung-up streams have been noticed (at their next token). That a hang-up
        // cancels its generation is shown exactly by the disconnect tests; here it must simply leak nothing.
        var scheduler = Assert.Single(_host.Loaded).Scheduler;
        for (int i = 0; i < 100 && !scheduler.Idle; i++) await Task.Delay(50);
        Assert.True(scheduler.Idle, $"active {scheduler.Active}, queued {scheduler.QueueDepth} after the load ended");

        long growth = HeapBytes() - heapAfterWarmUp;
        Assert.True(growth < 64L << 20, $"the managed heap grew by {growth >> 20} MiB under steady load");
    }

    private static long HeapBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task OneStream(HttpClient http, Random rng, bool hangUp, Tally tally)
    {
        var body = JsonSerializer.Serialize(new
        {
            model = "stories",
            stream = true,
            max_tokens = hangUp ? 200 : rng.Next(8, 64),
            seed = rng.Next(),
            messages = new[] { new { role = "user", content = "Once upon a time" } },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            Interlocked.Increment(ref tally.Refused);
            if (response.Headers.RetryAfter == null) tally.Problem("429 without Retry-After");
            await Task.Delay(rng.Next(5, 50));
            return;
        }

        if ((int)response.StatusCode >= 500)
        {
            Interlocked.Increment(ref tally.ServerErrors);
            tally.Problem($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return;
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            Interlocked.Increment(ref tally.Broken);
            tally.Problem($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return;
        }

        using var stream = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        bool done = false, finished = false;
        int chunks = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = line[6..];
            if (data == "[DONE]")
            {
                done = true;
                break;
            }

            chunks++;
            using var doc = JsonDocument.Parse(data);
            if (doc.RootElement.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0 &&
                choices[0].TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String)
            {
                finished = true;
            }

            if (hangUp && chunks == 3)
            {
                Interlocked.Increment(ref tally.HungUp);
                return; // disposing the response closes the connection mid-stream
            }
        }

        if (done && finished)
        {
            Interlocked.Increment(ref tally.Completed);
        }
        else
        {
            Interlocked.Increment(ref tally.Broken);
            tally.Problem($"stream ended: done={done} finish_reason={finished} after {chunks} chunks");
        }
    }
}
