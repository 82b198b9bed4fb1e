using System.Collections.Concurrent;
using System.IO.Pipes;
using System.Text;
using Hearth.Sensors.Sources;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The line sources on their own: a followed file (appends, partial lines, truncation, rotation) and a pipe as stdin.</summary>
public sealed class SourceTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-tail-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Runs a source in the background, collecting what it emits.</summary>
    private sealed class Collector : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;
        public readonly ConcurrentQueue<SourcePayload> Payloads = new();

        public Collector(ReadingSource source)
        {
            Source = source;
            _run = Task.Run(() => source.RunAsync((p, _) =>
            {
                Payloads.Enqueue(p);
                return ValueTask.CompletedTask;
            }, _stop.Token));
        }

        public ReadingSource Source { get; }

        public string[] Texts => Payloads.Select(p => Encoding.UTF8.GetString(p.Bytes.Span)).ToArray();

        public Task WaitForAsync(int count) => EventuallyAsync(() => Payloads.Count >= count, $"{count} payloads (have {Payloads.Count})");

        public Task Finished => _run;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run;
            await Source.DisposeAsync();
        }
    }

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    private static void Append(string path, string text)
    {
        using var f = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        f.Write(Encoding.UTF8.GetBytes(text));
    }

    private JsonLinesFileSource Tail(string path, bool fromEnd = false) => new("f", path, 1024, fromEnd, TimeSpan.FromMilliseconds(20));

    [Fact]
    public async Task AFollowedFileYieldsWhatItHoldsThenEveryAppendedLine()
    {
        var path = PathOf("r.jsonl");
        File.WriteAllText(path, "{\"a\":1}\n{\"a\":2}\n");
        await using var c = new Collector(Tail(path));
        await c.WaitForAsync(2);
        Append(path, "{\"a\":3}\n\n{\"a\":4}\r\n");
        await c.WaitForAsync(4);
        Assert.Equal(["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"], c.Texts);
        Assert.Equal([1L, 2, 3, 5], c.Payloads.Select(p => p.Position)); // the blank line counts
        Assert.All(c.Payloads, p => Assert.Equal("r.jsonl", p.Source));
        Assert.Equal(SourceState.Connected, c.Source.Status.State);
        Assert.Equal(4, c.Source.Status.Payloads);
    }

    [Fact]
    public async Task APartialLastLineWaitsForItsNewline()
    {
        var path = PathOf("r.jsonl");
        File.WriteAllText(path, "{\"a\":1}\n{\"a\":");
        await using var c = new Collector(Tail(path));
        await c.WaitForAsync(1);
        await Task.Delay(200); // many polls: the half line must not come out
        Assert.Single(c.Payloads);
        Append(path, "2}");
        await Task.Delay(200);
        Assert.Single(c.Payloads);
        Append(path, "\n");
        await c.WaitForAsync(2);
        Assert.Equal(["{\"a\":1}", "{\"a\":2}"], c.Texts);
    }

    [Fact]
    public async Task TruncationStartsOverAtTheBeginning()
    {
        var path = PathOf("r.jsonl");
        File.WriteAllText(path, "{\"old\":1}\n{\"old\":2}\n");
        await using var c = new Collector(Tail(path));
        await c.WaitForAsync(2);
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) f.SetLength(0); // truncate in place
        await Task.Delay(100);
        Append(path, "{\"new\":1}\n");
        await c.WaitForAsync(3);
        Append(path, "{\"new\":2}\n");
        await c.WaitForAsync(4);
        Assert.Equal(["{\"old\":1}", "{\"old\":2}", "{\"new\":1}", "{\"new\":2}"], c.Texts);
    }

    [Fact]
    public async Task RotationReadsTheOldFilesLastLinesThenTheNewFile()
    {
        var path = PathOf("r.jsonl");
        File.WriteAllText(path, "{\"gen\":1,\"n\":1}\n");
        await using var c = new Collector(Tail(path));
        await c.WaitForAsync(1);
        // What logrotate does: the writer adds a last line, the file is renamed, a new one is created at the path.
        Append(path, "{\"gen\":1,\"n\":2}\n");
        File.Move(path, path + ".1");
        await Task.Delay(100);
        File.WriteAllText(path, "{\"gen\":2,\"n\":1}\n{\"gen\":2,\"n\":2}\n{\"gen\":2,\"n\":3}\n");
        await c.WaitForAsync(5);
        Append(path, "{\"gen\":2,\"n\":4}\n");
        await c.WaitForAsync(6);
        Assert.Equal(["{\"gen\":1,\"n\":1}", "{\"gen\":1,\"n\":2}", "{\"gen\":2,\"n\":1}", "{\"gen\":2,\"n\":2}", "{\"gen\":2,\"n\":3}", "{\"gen\":2,\"n\":4}"], c.Texts);
    }

    [Fact]
    public async Task AMissingFileIsWaitedForAndFromEndSkipsWhatWasThere()
    {
        var path = PathOf("later.jsonl");
        await using (var c = new Collector(Tail(path)))
        {
            await EventuallyAsync(() => c.Source.Status.State == SourceState.Disconnected, "the source to say the file is missing");
            Assert.Contains("does not exist", c.Source.Status.LastError);
            File.WriteAllText(path, "{\"a\":1}\n");
            await c.WaitForAsync(1);
            Assert.Equal(SourceState.Connected, c.Source.Status.State);
        }

        await using var end = new Collector(Tail(path, fromEnd: true));
        await EventuallyAsync(() => end.Source.Status.State == SourceState.Connected, "the file to be opened");
        Append(path, "{\"a\":2}\n");
        await end.WaitForAsync(1);
        Assert.Equal(["{\"a\":2}"], end.Texts);
    }

    [Fact]
    public async Task AnOverlongLineComesOutTruncatedWithItsFullLength()
    {
        var path = PathOf("r.jsonl");
        File.WriteAllText(path, "{\"a\":\"" + new string('x', 5000) + "\"}\n{\"a\":1}\n");
        await using var c = new Collector(Tail(path));
        await c.WaitForAsync(2);
        var first = c.Payloads.First();
        Assert.True(first.Truncated);
        Assert.Equal(5008, first.Length);
        Assert.Equal(1024, first.Bytes.Length);
        Assert.False(c.Payloads.Last().Truncated);
    }

    [Fact]
    public async Task StandardInputFromAPipeEndsAtEndOfInputWithTheLastLineUnterminated()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        await using var c = new Collector(new StreamLineSource("in", () => client, "stdin", 1024));
        server.Write(Encoding.UTF8.GetBytes("{\"a\":1}\n{\"a\""));
        server.Flush();
        await c.WaitForAsync(1);
        server.Write(Encoding.UTF8.GetBytes(":2}\n{\"a\":3}"));
        server.Dispose(); // end of input
        await c.Finished;
        Assert.Equal(["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"], c.Texts);
        Assert.All(c.Payloads, p => Assert.Equal("stdin", p.Source));
        Assert.Equal(SourceState.Finished, c.Source.Status.State);
    }
}
