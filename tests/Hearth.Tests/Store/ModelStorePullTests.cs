using Hearth.Store;

namespace Hearth.Tests.Store;

/// <summary>Pulls against a real local HTTP server imitating the Hub: full, resumed, interrupted, corrupt, refused.</summary>
public sealed class ModelStorePullTests : StoreTestKit
{
    private const string Owner = "TestOrg";
    private const string Repo = "Tiny-GGUF";
    private const string File = "tiny-Q4_K_M.gguf";
    private const string Ref = "hf:TestOrg/Tiny-GGUF/tiny-Q4_K_M.gguf";

    private byte[] Serve(int seed = 1)
    {
        var bytes = TestGguf(seed);
        Server.AddFile(Owner, Repo, File, bytes);
        return bytes;
    }

    [Fact]
    public async Task FullPullStoresTheVerifiedFileAndItsManifest()
    {
        var bytes = Serve();
        var log = new ProgressLog();
        var model = await Store.PullAsync(Ref, Hub(), log);

        Assert.Equal("hf:testorg/tiny-gguf/tiny-q4_k_m.gguf", model.Name);
        Assert.Equal(Ref, model.Source);
        Assert.Equal("TestOrg/Tiny-GGUF", model.Repository);
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
        Assert.Equal(FakeHub.Sha256(bytes), model.Sha256);
        Assert.True(model.Verified);
        Assert.Equal("llama", model.Architecture);
        Assert.Equal("Q4_K_M", model.FileType);
        Assert.Equal(Path.GetDirectoryName(model.Path), Store.ModelsDirectory);
        Assert.Equal(["hf@testorg+tiny-gguf+tiny-q4_k_m.gguf.gguf", "hf@testorg+tiny-gguf+tiny-q4_k_m.gguf.json"], StoreFiles());
        Assert.Equal([null], Server.DownloadRanges);

        var listed = Assert.Single(Store.List());
        Assert.Equal(model.Name, listed.Name);
        Assert.Equal(model.Sha256, listed.Sha256);
        Assert.Equal(bytes.Length, listed.Size);
        Assert.Equal(model.Path, Store.Resolve(Ref));
        Assert.Equal(model.Path, Store.Resolve("HF:testorg/tiny-gguf/TINY-Q4_K_M.GGUF"));

        Assert.Equal(PullStage.Resolving, log.Reports[0].Stage);
        Assert.Contains(log.Reports, r => r.Stage == PullStage.Downloading && r.BytesDone == bytes.Length && r.TotalBytes == bytes.Length);
        Assert.Contains(log.Reports, r => r.Stage == PullStage.Verifying);
        Assert.Equal(PullStage.Completed, log.Reports[^1].Stage);
    }

    [Fact]
    public async Task DroppedConnectionIsResumedWithRangeAndTheResultIsByteIdentical()
    {
        var bytes = Serve();
        Server.DropAtOffset = 100_000;
        Server.DropsLeft = 1;
        var log = new ProgressLog();
        var model = await Store.PullAsync(Ref, Hub(), log);

        Assert.Equal([null, "bytes=100000-"], Server.DownloadRanges);
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
        Assert.True(model.Verified);
        Assert.Contains(log.Reports, r => r.Stage == PullStage.Retrying);
        Assert.Contains(log.Reports, r => r.Stage == PullStage.Downloading && r.ResumedFrom == 100_000);
        Assert.DoesNotContain(StoreFiles(), f => f.EndsWith(".partial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InterruptedDownloadLeavesOnlyThePartialFileAndTheNextPullResumesIt()
    {
        var bytes = Serve();
        Server.DropAtOffset = 150_000;
        Server.DropsLeft = int.MaxValue;
        var e = await Assert.ThrowsAsync<HubException>(() => Store.PullAsync(Ref, Hub(maxAttempts: 2)));
        Assert.Contains("resumes", e.Message);

        Assert.Equal(["hf@testorg+tiny-gguf+tiny-q4_k_m.gguf.gguf.partial"], StoreFiles());
        Assert.Equal(150_000, new FileInfo(Store.PartialPath(Ref)).Length);
        Assert.Empty(Store.List());
        Assert.Throws<ModelNotFoundException>(() => Store.Resolve(Ref));

        Server.DropsLeft = 0;
        while (Server.DownloadRanges.TryDequeue(out _)) { }
        var model = await Store.PullAsync(Ref, Hub());
        Assert.Equal(["bytes=150000-"], Server.DownloadRanges);
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
        Assert.Equal(FakeHub.Sha256(bytes), model.Sha256);
    }

    [Fact]
    public async Task CancelledPullKeepsThePartialFileAndNoModel()
    {
        Serve();
        using var cts = new CancellationTokenSource();
        var log = new ProgressLog(r =>
        {
            if (r.Stage == PullStage.Downloading && r.BytesDone > 0) cts.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.PullAsync(Ref, Hub(), log, cts.Token));
        Assert.Equal(["hf@testorg+tiny-gguf+tiny-q4_k_m.gguf.gguf.partial"], StoreFiles());
        Assert.Empty(Store.List());
    }

    [Fact]
    public async Task CorruptBytesFailTheHashCheckAndLeaveNothing()
    {
        Serve();
        Server.Corrupt = true;
        var e = await Assert.ThrowsAsync<ModelIntegrityException>(() => Store.PullAsync(Ref, Hub()));
        Assert.Contains("SHA-256", e.Message);
        Assert.Empty(StoreFiles());
        Assert.Empty(Store.List());
    }

    [Fact]
    public async Task WithoutAListedHashTheEtagHeaderIsTheSha256()
    {
        Serve();
        Server.ListSha = false;
        Server.Corrupt = true;
        await Assert.ThrowsAsync<ModelIntegrityException>(() => Store.PullAsync(Ref, Hub()));
        Assert.Empty(StoreFiles());

        Server.Corrupt = false;
        var model = await Store.PullAsync(Ref, Hub());
        Assert.True(model.Verified);
    }

    [Fact]
    public async Task StalePartialFromAnotherVersionIsRestartedOnce()
    {
        var bytes = Serve();
        Directory.CreateDirectory(Store.ModelsDirectory);
        var stale = TestGguf(99);
        System.IO.File.WriteAllBytes(Store.PartialPath(Ref), stale.AsSpan(0, 50_000).ToArray());
        var model = await Store.PullAsync(Ref, Hub());
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
        Assert.Equal(["bytes=50000-", null], Server.DownloadRanges);
    }

    [Fact]
    public async Task AFileThatIsNotGgufIsRejectedAfterDownload()
    {
        Server.AddFile(Owner, Repo, "fake-Q8_0.gguf", new byte[5000]);
        var e = await Assert.ThrowsAsync<ModelIntegrityException>(() => Store.PullAsync("hf:TestOrg/Tiny-GGUF/fake-Q8_0.gguf", Hub()));
        Assert.Contains("not a valid GGUF", e.Message);
        Assert.IsType<Hearth.Gguf.GgufFormatException>(e.InnerException);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task AServerIgnoringRangeMakesTheDownloadRestartFromZero()
    {
        var bytes = Serve();
        Server.IgnoreRange = true;
        Server.DropAtOffset = 70_000;
        Server.DropsLeft = 1;
        var model = await Store.PullAsync(Ref, Hub());
        Assert.Equal([null, "bytes=70000-"], Server.DownloadRanges);
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
    }

    [Fact]
    public async Task A416ForACompletePartialFileCommitsIt()
    {
        var bytes = Serve();
        Server.ListSha = false; // no listed size: the downloader has to ask, and the server says 416
        Directory.CreateDirectory(Store.ModelsDirectory);
        System.IO.File.WriteAllBytes(Store.PartialPath(Ref), bytes);
        var model = await Store.PullAsync(Ref, Hub());
        Assert.Equal([$"bytes={bytes.Length}-"], Server.DownloadRanges);
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
        Assert.False(model.Verified);
    }

    [Fact]
    public async Task PullingTheSameFileAgainDownloadsNothing()
    {
        Serve();
        await Store.PullAsync(Ref, Hub());
        var log = new ProgressLog();
        await Store.PullAsync(Ref, Hub(), log);
        Assert.Single(Server.DownloadRanges);
        Assert.Equal(PullStage.UpToDate, log.Reports[^1].Stage);
    }

    [Fact]
    public async Task MissingRepositoryOrFileIsAClear404()
    {
        Serve();
        var repo = await Assert.ThrowsAsync<HubNotFoundException>(() => Store.PullAsync("hf:TestOrg/Nope/x.gguf", Hub()));
        Assert.Contains("TestOrg/Nope", repo.Message);
        Assert.Equal(404, repo.StatusCode);
        var file = await Assert.ThrowsAsync<HubNotFoundException>(() => Store.PullAsync("hf:TestOrg/Tiny-GGUF/other.gguf", Hub()));
        Assert.Contains("has no file 'other.gguf'", file.Message);
        Assert.Contains(File, file.Message);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task AGatedRepositoryNeedsTheToken()
    {
        var bytes = Serve();
        Server.RequiredToken = "hf_secret";
        var e = await Assert.ThrowsAsync<HubAuthorizationException>(() => Store.PullAsync(Ref, Hub()));
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Equal(401, e.StatusCode);
        var model = await Store.PullAsync(Ref, Hub(token: "hf_secret"));
        Assert.Equal(bytes, System.IO.File.ReadAllBytes(model.Path));
    }
}
