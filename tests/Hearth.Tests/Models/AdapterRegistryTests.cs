using Hearth.Cli;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Models.Lora;
using Hearth.Sampling;
using Hearth.Serving;
using Hearth.Tests.Serving;
using Microsoft.Extensions.AI;

namespace Hearth.Tests.Models;

/// <summary>Choosing adapters: the per-model registry, adapter directories, the chat client option and <c>--lora</c>.</summary>
public sealed class AdapterRegistryTests : IDisposable
{
    private static readonly string s_base = TestData.Path("golden", "models", "parity-llama-untied.F32.gguf");
    private static readonly string s_golden = TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf");
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-lora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("a.gguf", "a.gguf", 1f)]
    [InlineData("a.gguf:0.5", "a.gguf", 0.5f)]
    [InlineData("/x/y:z.gguf:-1.25", "/x/y:z.gguf", -1.25f)]
    [InlineData(@"C:\adapters\a.gguf", @"C:\adapters\a.gguf", 1f)]
    public void ReferencesParseFileAndOptionalScale(string text, string file, float scale) =>
        Assert.Equal(new AdapterReference(file, scale), AdapterReference.Parse(text));

    [Fact]
    public void AnAdapterIsLoadedOncePerModelAndReloadedWhenItsFileChanges()
    {
        using var model = LanguageModel.Load(s_base, new ModelLoadOptions { Threads = 1 });
        var copy = Path.Combine(_dir, "mine.gguf");
        File.Copy(s_golden, copy);
        var first = model.Adapters.Load(copy);
        Assert.Same(first, model.Adapters.Load(Path.Combine(_dir, ".", "mine.gguf")));
        var active = model.Adapters.Resolve([new AdapterReference(copy, 0.5f)]);
        Assert.Equal([new ActiveAdapter(first, 0.5f)], active);

        // Hot swap: another adapter moved over the file (a new file, as a deployment does) is picked up on next use;
        // the old instance keeps its mapping and still works.
        var second = SchedulerAdapterTests.WriteSecondAdapter(_dir);
        File.Move(second, copy, overwrite: true);
        File.SetLastWriteTimeUtc(copy, DateTime.UtcNow.AddMinutes(1));
        var swapped = model.Adapters.Load(copy);
        Assert.NotSame(first, swapped);
        Assert.Contains("blk.0.attn_v.weight", swapped.Targets);
        Assert.Contains("blk.0.attn_q.weight", first.Targets);
        Assert.Throws<FileNotFoundException>(() => model.Adapters.Load(Path.Combine(_dir, "missing.gguf")));
    }

    [Fact]
    public void AnAdapterForAnotherModelIsRefused()
    {
        using var model = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 1 });
        Assert.Throws<ModelFormatException>(() => model.Adapters.Load(s_golden));
        var dir = new AdapterDirectory(_dir);
        File.Copy(s_golden, Path.Combine(_dir, "parity.gguf"));
        var e = Assert.Throws<InvalidRequestException>(() => model.Adapters.Resolve([new AdapterReference("parity")], dir));
        Assert.Equal("lora", e.Parameter);
    }

    [Fact]
    public void NamesResolveOnlyToFilesOfTheDirectory()
    {
        File.Copy(s_golden, Path.Combine(_dir, "tone.gguf"));
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_dir)!, "outside.gguf"), "x");
        var dir = new AdapterDirectory(_dir);
        Assert.Equal(["tone"], dir.Names);
        Assert.Equal(Path.Combine(_dir, "tone.gguf"), dir.Resolve("tone"));
        Assert.Equal(Path.Combine(_dir, "tone.gguf"), dir.Resolve("tone.gguf"));
        foreach (var bad in new[] { "", "nope", "../outside", "../outside.gguf", s_golden, "/etc/passwd", "..", "sub/tone", @"..\outside" })
        {
            var e = Assert.Throws<InvalidRequestException>(() => dir.Resolve(bad));
            Assert.Equal("lora", e.Parameter);
        }

        Assert.Throws<DirectoryNotFoundException>(() => new AdapterDirectory(Path.Combine(_dir, "none")));
    }

    private static string Alone(LanguageModel model, string prompt, IReadOnlyList<ActiveAdapter> adapters, int n = 12)
    {
        var gen = new TextGenerator(model);
        gen.SetAdapters(adapters);
        return string.Concat(gen.Generate(prompt, new GenerationOptions { MaxTokens = n, IgnoreEndOfGeneration = true, Sampling = SamplerOptions.Greedy }));
    }

    [Fact]
    public async Task TheChatClientAppliesTheLoraOptionAloneAndInTheScheduler()
    {
        using var model = LanguageModel.Load(s_base, new ModelLoadOptions { Threads = 2 });
        var template = Hearth.Chat.ChatTemplate.Parse("{% for m in messages %}{{ m.content }}{% endfor %}");
        var messages = new[] { new ChatMessage(ChatRole.User, "hello") };
        ChatOptions Options(params AdapterReference[] lora) => new()
        {
            Temperature = 0,
            MaxOutputTokens = 10,
            AdditionalProperties = lora.Length == 0 ? null : new AdditionalPropertiesDictionary { [HearthChatClient.LoraOption] = lora },
        };

        using var alone = new HearthChatClient(model, template);
        var plain = (await alone.GetResponseAsync(messages, Options())).Text;
        var adapted = (await alone.GetResponseAsync(messages, Options(new AdapterReference(s_golden, 1f)))).Text;
        Assert.NotEqual(plain, adapted);

        using var scheduler = new SequenceScheduler(model, new SchedulerOptions { Parallel = 2, Context = 64 });
        using var served = new HearthChatClient(scheduler, template);
        var both = await Task.WhenAll(
            served.GetResponseAsync(messages, Options(new AdapterReference(s_golden, 1f))),
            served.GetResponseAsync(messages, Options()));
        Assert.Equal(adapted, both[0].Text);
        Assert.Equal(plain, both[1].Text);

        var wrong = Options();
        wrong.AdditionalProperties = new AdditionalPropertiesDictionary { [HearthChatClient.LoraOption] = "x.gguf" };
        await Assert.ThrowsAsync<ArgumentException>(() => alone.GetResponseAsync(messages, wrong));
    }

    [Fact]
    public void RunAppliesRepeatedLoraFlags()
    {
        var second = SchedulerAdapterTests.WriteSecondAdapter(_dir);
        string expected;
        string plain;
        using (var model = LanguageModel.Load(s_base, new ModelLoadOptions { Threads = 1 }))
        {
            var a = model.Adapters.Load(s_golden);
            var b = model.Adapters.Load(second);
            expected = Alone(model, "abc", [new ActiveAdapter(a, 0.5f), new ActiveAdapter(b, 2f)]);
            plain = Alone(model, "abc", []);
        }

        Assert.NotEqual(plain, expected);
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HearthCommand.Run(["run", s_base, "abc", "--temp", "0", "-n", "12", "--lora", s_golden + ":0.5", "--lora", second + ":2", "-t", "1"], new StringReader(""), o, e);
        Assert.True(code == 0, e.ToString());
        Assert.Equal(expected + Environment.NewLine, o.ToString());
    }
}
