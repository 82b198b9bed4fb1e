using Hearth.Cli;

namespace Hearth.Tests.Store;

/// <summary>Tests that set process-wide environment variables (HEARTH_HOME) run one at a time in this collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "Process environment";
}

/// <summary><c>hearth pull / list / show / rm</c> run in-process against a local fake Hub and a temporary HEARTH_HOME.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class StoreCliTests : StoreTestKit
{
    private (int Code, string Out, string Err) Run(params string[] args)
    {
        var previous = Environment.GetEnvironmentVariable("HEARTH_HOME");
        Environment.SetEnvironmentVariable("HEARTH_HOME", StoreRoot);
        try
        {
            var o = new StringWriter();
            var e = new StringWriter();
            int code = HearthCommand.Run(args, new StringReader(""), o, e);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("HEARTH_HOME", previous);
        }
    }

    [Fact]
    public void PullListShowRemove()
    {
        var bytes = TestGguf(7);
        Server.AddFile("cli", "repo", "m-Q4_K_M.gguf", bytes);
        var endpoint = Server.Endpoint.AbsoluteUri;

        var (code, output, err) = Run("pull", "hf:cli/repo:Q4_K_M", "--endpoint", endpoint);
        Assert.True(code == 0, err);
        Assert.Contains("hf:cli/repo:q4_k_m: hf:cli/repo/m-Q4_K_M.gguf", output);
        Assert.Contains("verified", output);
        Assert.Contains("100%", err);
        Assert.Equal(bytes, File.ReadAllBytes(Store.Resolve("hf:cli/repo:q4_k_m")));

        (code, output, _) = Run("list");
        Assert.Equal(0, code);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^NAME\s+SIZE\s+QUANT\s+ARCH\s+MODIFIED$", lines[0]);
        Assert.Matches(@"^hf:cli/repo:q4_k_m\s+256\.\d KiB\s+Q4_K_M\s+llama\s+\d{4}-\d\d-\d\d \d\d:\d\d$", lines[1]);

        (code, output, _) = Run("show", "hf:cli/repo:Q4_K_M");
        Assert.Equal(0, code);
        Assert.Contains("architecture:  llama", output);
        Assert.Contains("context:       512", output);
        Assert.Contains("chat template: yes", output);
        Assert.Contains("sha256:        " + FakeHub.Sha256(bytes) + " (verified)", output);

        (code, output, _) = Run("rm", "hf:cli/repo:q4_k_m");
        Assert.Equal(0, code);
        Assert.Contains("deleted hf:cli/repo:q4_k_m", output);
        (_, output, _) = Run("list");
        Assert.Single(output.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void CommandsThatTakeAModelAcceptAStoreName()
    {
        Server.AddFile("test", "stories-GGUF", "stories260K.gguf", File.ReadAllBytes(TestData.Path("models", "stories260K.gguf")));
        var (code, _, err) = Run("pull", "hf:test/stories-GGUF/stories260K.gguf", "--endpoint", Server.Endpoint.AbsoluteUri);
        Assert.True(code == 0, err);
        string name = "hf:test/stories-GGUF/stories260K.gguf";

        (code, var output, err) = Run("run", name, "Once upon a time", "-n", "8", "--temp", "0");
        Assert.True(code == 0, err);
        Assert.NotEmpty(output.Trim());
        (code, output, err) = Run("fit", name, "--ctx", "128");
        Assert.True(code == 0, err);
        (code, _, err) = Run("run", "no-such-model", "hi");
        Assert.Equal(1, code);
        Assert.Contains("not a model in the store", err);
    }

    [Fact]
    public void ErrorsAreOneLineWithExitCode1()
    {
        var (code, _, err) = Run("pull", "hf:cli/missing/x.gguf", "--endpoint", Server.Endpoint.AbsoluteUri);
        Assert.Equal(1, code);
        Assert.StartsWith("error: repository cli/missing not found", err.TrimEnd('\n').Split('\n')[^1]);

        (code, _, err) = Run("show", "../../etc/passwd");
        Assert.Equal(1, code);
        Assert.StartsWith("error: invalid model name", err);

        (code, _, err) = Run("rm", "qwen2.5:0.5b");
        Assert.Equal(1, code);
        Assert.Contains("is not in the store", err);
        Assert.Contains("hearth pull qwen2.5:0.5b", err);
    }
}
