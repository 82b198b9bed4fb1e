using System.Text.Json.Nodes;
using Hearth.Chat;
using Hearth.Gguf;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Chat;

/// <summary>
/// The fallback formats for models without <c>tokenizer.chat_template</c>, with expected prompts written by hand from
/// each format's published layout, and <see cref="ChatTemplate.ForModel"/> choosing among them.
/// </summary>
public sealed class BuiltInTemplateTests : IDisposable
{
    private const string Conversation = """
        [{"role": "system", "content": "You are terse."},
         {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Hello!"},
         {"role": "user", "content": "Bye"}]
        """;

    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Render(string name, string messages = Conversation, bool generationPrompt = true, string bos = "", string eos = "") =>
        ChatTemplate.BuiltIn(name).WithTokens(bos, eos).Render(new ChatTemplateInput
        {
            Messages = JsonNode.Parse(messages)!.AsArray(),
            AddGenerationPrompt = generationPrompt,
        });

    [Fact]
    public void ChatMLWrapsEachTurnInImStartImEnd() => Assert.Equal(
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
        "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
        Render("chatml"));

    [Fact]
    public void Llama3UsesHeadersAndEotAfterBos() => Assert.Equal(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
        Render("llama3", bos: "<|begin_of_text|>"));

    [Fact]
    public void Phi3TagsRolesAndEndsWithEosWithoutAGenerationPrompt()
    {
        Assert.Equal(
            "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n",
            Render("phi3", eos: "<|endoftext|>"));
        Assert.Equal(
            "<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|endoftext|>",
            Render("phi3", """[{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]""", generationPrompt: false, eos: "<|endoftext|>"));
    }

    [Fact]
    public void GemmaFoldsTheSystemMessageIntoTheFirstUserTurnAndCallsTheAssistantModel() => Assert.Equal(
        "<bos><start_of_turn>user\nYou are terse.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n" +
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n",
        Render("gemma", bos: "<bos>"));

    [Fact]
    public void GemmaRefusesConversationsThatDoNotAlternate()
    {
        var e = Assert.Throws<TemplateRaisedException>(() => Render("gemma", """[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]"""));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", e.Message);
    }

    [Fact]
    public void TextPartsAreJoinedAndNullContentIsEmpty() => Assert.Equal(
        "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n",
        Render("chatml", """[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, {"role": "assistant", "content": null}]""", generationPrompt: false));

    [Theory]
    [InlineData("chatml")]
    [InlineData("llama3")]
    [InlineData("phi3")]
    [InlineData("gemma")]
    public void BuiltInsRefuseToolsRatherThanDropThem(string name)
    {
        var template = ChatTemplate.BuiltIn(name);
        var withTools = new ChatTemplateInput
        {
            Messages = JsonNode.Parse("""[{"role": "user", "content": "Hi"}]""")!.AsArray(),
            Tools = JsonNode.Parse("""[{"type": "function", "function": {"name": "f"}}]""")!.AsArray(),
        };
        Assert.Contains("cannot present tools", Assert.Throws<TemplateRaisedException>(() => template.Render(withTools)).Message);
        var withCalls = new ChatTemplateInput
        {
            Messages = JsonNode.Parse("""[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}]""")!.AsArray(),
        };
        Assert.Contains("cannot present tool calls", Assert.Throws<TemplateRaisedException>(() => template.Render(withCalls)).Message);
    }

    [Fact]
    public void BuiltInPhi3MatchesThePhi35TemplateOnEveryReferenceCase()
    {
        var spec = JsonNode.Parse(File.ReadAllText(TestData.Path("templates", "microsoft-Phi-3.5-mini-instruct.json")))!;
        var template = ChatTemplate.BuiltIn("phi3").WithTokens((string)spec["bos_token"]!, (string)spec["eos_token"]!);
        int compared = 0;
        foreach (var c in spec["cases"]!.AsArray())
        {
            if (c!["tools"] is not null || c["expected"] is null) continue;
            var rendered = template.Render(new ChatTemplateInput { Messages = c["messages"]!.DeepClone().AsArray(), AddGenerationPrompt = (bool)c["add_generation_prompt"]! });
            Assert.Equal((string)c["expected"]!, rendered);
            compared++;
        }

        Assert.True(compared >= 4);
    }

    [Fact]
    public void UnknownBuiltInNameIsAnArgumentError() =>
        Assert.Contains("chatml, llama3, phi3, gemma", Assert.Throws<ArgumentException>(() => ChatTemplate.BuiltIn("vicuna")).Message);

    [Theory]
    [InlineData("llama", true, "llama3")]
    [InlineData("llama", false, "chatml")]
    [InlineData("phi3", false, "phi3")]
    [InlineData("gemma", false, "gemma")]
    [InlineData("gemma2", false, "gemma")]
    [InlineData("gemma3", false, "gemma")]
    [InlineData("qwen2", false, "chatml")]
    [InlineData("qwen3", false, "chatml")]
    public void ForModelFallsBackByArchitecture(string architecture, bool llama3Vocabulary, string expected)
    {
        string[] vocab = llama3Vocabulary ? ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|eot_id|>"] : ["<s>", "</s>", "a", "b"];
        using var gguf = WriteModel(architecture, vocab, template: null);
        var template = ChatTemplate.ForModel(gguf);
        Assert.Equal(expected, template.Name);
        Assert.Equal(vocab[0], template.BosToken);
        Assert.Equal(vocab[1], template.EosToken);
    }

    [Fact]
    public void ForModelPrefersTheModelsOwnTemplateAndItsTokens()
    {
        using var gguf = WriteModel("llama", ["<s>", "</s>", "x"], "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{{ eos_token }}");
        var template = ChatTemplate.ForModel(gguf);
        Assert.Equal("tokenizer.chat_template", template.Name);
        Assert.Equal("<s>[user:Hi]</s>", template.Render(new ChatTemplateInput { Messages = JsonNode.Parse("""[{"role": "user", "content": "Hi"}]""")!.AsArray() }));
        Assert.Equal("[user:Hi]", template.Render(new ChatTemplateInput { Messages = JsonNode.Parse("""[{"role": "user", "content": "Hi"}]""")!.AsArray(), BosToken = "", EosToken = "" }));
    }

    [Fact]
    public void ForModelReportsAnUnsupportedModelTemplate()
    {
        using var gguf = WriteModel("llama", ["<s>", "</s>"], "ok\n{{ messages|xmlattr }}");
        var e = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.ForModel(gguf));
        Assert.Equal("line 2: unsupported filter 'xmlattr'", e.Message);
    }

    [Fact]
    public void ForModelRejectsATokenIdOutsideTheVocabulary()
    {
        var path = _files.NewPath("bad-bos.gguf");
        new GgufWriter().Set("general.architecture", "llama").Set("tokenizer.ggml.tokens", GgufArray.Of(["<s>"]))
            .Set("tokenizer.ggml.bos_token_id", 7u).Write(path);
        using var gguf = GgufFile.Open(path);
        Assert.Throws<ModelFormatException>(() => ChatTemplate.ForModel(gguf));
    }

    [Fact]
    public void TheStoriesModelGetsChatMLWithItsOwnBosAndEos()
    {
        using var gguf = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var template = ChatTemplate.ForModel(gguf);
        Assert.Equal("chatml", template.Name);
        Assert.Equal("<s>", template.BosToken);
        Assert.Equal("</s>", template.EosToken);
    }

    private GgufFile WriteModel(string architecture, string[] vocab, string? template)
    {
        var path = _files.NewPath($"{architecture}-{Guid.NewGuid():N}.gguf");
        var w = new GgufWriter()
            .Set("general.architecture", architecture)
            .Set("tokenizer.ggml.tokens", GgufArray.Of(vocab))
            .Set("tokenizer.ggml.bos_token_id", 0u)
            .Set("tokenizer.ggml.eos_token_id", 1u);
        if (template != null) w.Set("tokenizer.chat_template", template);
        w.Write(path);
        return GgufFile.Open(path);
    }
}
