using Hearth.Chat;
using Hearth.Chat.ToolCalls;
using Hearth.Gguf;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>Which format a model uses, from the real templates in <c>shared/templates</c>, vocabularies and architectures.</summary>
public sealed class DetectionTests
{
    [Theory]
    [InlineData("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ToolCallFormat.Hermes)]
    [InlineData("Qwen-Qwen2.5-7B-Instruct", ToolCallFormat.Hermes)]
    [InlineData("meta-llama-Llama-3.1-8B-Instruct", ToolCallFormat.Llama3Json)]
    [InlineData("meta-llama-Llama-3.2-3B-Instruct", ToolCallFormat.Llama3Json)]
    [InlineData("meetkai-functionary-medium-v3.2", ToolCallFormat.FunctionaryV32)]
    [InlineData("CohereForAI-c4ai-command-r7b-12-2024-tool_use", ToolCallFormat.CommandR7B)]
    [InlineData("deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ToolCallFormat.DeepSeekR1)]
    [InlineData("microsoft-Phi-3.5-mini-instruct", ToolCallFormat.Generic)]
    [InlineData("google-gemma-2-2b-it", ToolCallFormat.Generic)]
    public void FromRealTemplates(string file, ToolCallFormat expected)
    {
        var source = File.ReadAllText(TestData.Path("templates", file + ".jinja"));
        Assert.Equal(expected, ToolCallFormatDetector.Detect(source));
        Assert.Equal(expected, ToolCallFormatDetector.ForTemplate(ChatTemplate.Parse(source)));
    }

    [Fact]
    public void EveryTemplateInTheSharedSetIsCovered()
    {
        // A new template in shared/templates should get a row above.
        var known = new[]
        {
            "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "Qwen-Qwen2.5-7B-Instruct", "meta-llama-Llama-3.1-8B-Instruct",
            "meta-llama-Llama-3.2-3B-Instruct", "meetkai-functionary-medium-v3.2", "CohereForAI-c4ai-command-r7b-12-2024-tool_use",
            "deepseek-ai-DeepSeek-R1-Distill-Llama-8B", "microsoft-Phi-3.5-mini-instruct", "google-gemma-2-2b-it",
        };
        var files = Directory.GetFiles(TestData.Path("templates"), "*.jinja").Select(Path.GetFileNameWithoutExtension);
        Assert.Empty(files.Except(known));
    }

    [Theory]
    [InlineData("{{ '[TOOL_CALLS]' + tool_calls|tojson }}", ToolCallFormat.Mistral)]
    [InlineData("{{ '[TOOL_CALLS]' + name + '[ARGS]' + arguments }}", ToolCallFormat.MistralV11)]
    [InlineData("{{ '<|system|>' + message['content'] + '<|tool|>' + message['tools'] + '<|/tool|>' }}", ToolCallFormat.Phi4Mini)]
    [InlineData("{{ '<|tool_call|>' }}", ToolCallFormat.Phi4Mini)]
    [InlineData("{{ 'functools[' }}", ToolCallFormat.Phi4Mini)]
    [InlineData("{{ '<|im_start|>' + message.role }}", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void FromTemplateMarkers(string? source, ToolCallFormat? expected) =>
        Assert.Equal(expected, ToolCallFormatDetector.FromTemplate(source));

    [Theory]
    [InlineData(ToolCallFormat.Hermes, "<|im_start|>", "<tool_call>", "</tool_call>")]
    [InlineData(ToolCallFormat.Llama3Json, "<|begin_of_text|>", "<|python_tag|>", "<|eom_id|>")]
    [InlineData(ToolCallFormat.Phi4Mini, "<|tool|>", "<|tool_call|>", "<|/tool_call|>")]
    [InlineData(ToolCallFormat.Mistral, "[INST]", "[TOOL_CALLS]")]
    [InlineData(ToolCallFormat.MistralV11, "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]")]
    [InlineData(ToolCallFormat.CommandR7B, "<|START_ACTION|>", "<|END_ACTION|>")]
    [InlineData(ToolCallFormat.DeepSeekR1, "<｜tool▁calls▁begin｜>", "<think>")]
    public void FromVocabulary(ToolCallFormat expected, params string[] specialTokens)
    {
        var vocabulary = Enumerable.Range(0, 1000).Select(i => "tok" + i).Concat(specialTokens).ToList();
        Assert.Equal(expected, ToolCallFormatDetector.FromVocabulary(vocabulary));
        Assert.Equal(expected, ToolCallFormatDetector.Detect(null, vocabulary, "llama"));
    }

    [Fact]
    public void TemplateBeatsVocabularyBeatsArchitecture()
    {
        var hermesTemplate = "{{ '<tool_call>' }}";
        Assert.Equal(ToolCallFormat.Hermes, ToolCallFormatDetector.Detect(hermesTemplate, ["[TOOL_CALLS]"], "cohere2"));
        Assert.Equal(ToolCallFormat.Mistral, ToolCallFormatDetector.Detect("{{ messages }}", ["[TOOL_CALLS]"], "cohere2"));
        Assert.Equal(ToolCallFormat.CommandR7B, ToolCallFormatDetector.Detect("{{ messages }}", ["a", "b"], "cohere2"));
        Assert.Equal(ToolCallFormat.Hermes, ToolCallFormatDetector.Detect(null, null, "qwen3"));
        Assert.Equal(ToolCallFormat.Generic, ToolCallFormatDetector.Detect(null, null, "gemma2"));
        Assert.Equal(ToolCallFormat.Generic, ToolCallFormatDetector.Detect(null));
        Assert.Equal(ToolCallFormat.Generic, ToolCallFormatDetector.Detect(""));
    }

    [Fact]
    public void FromGgufMetadata()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hearth-toolcall-detect-{Guid.NewGuid():N}.gguf");
        try
        {
            new GgufWriter()
                .Set("general.architecture", "llama")
                .Set("tokenizer.chat_template", "{{ '<|im_start|>' }}")
                .Set("tokenizer.chat_template.tool_use", "{{ '<tool_call>' }}")
                .Set("tokenizer.ggml.tokens", GgufArray.Of(["a", "[TOOL_CALLS]"]))
                .Write(path);
            using (var gguf = GgufFile.Open(path)) Assert.Equal(ToolCallFormat.Hermes, ToolCallFormatDetector.ForModel(gguf));

            // No template markers: the vocabulary decides.
            new GgufWriter()
                .Set("general.architecture", "llama")
                .Set("tokenizer.chat_template", "{{ '<|im_start|>' }}")
                .Set("tokenizer.ggml.tokens", GgufArray.Of(["a", "[TOOL_CALLS]", "[ARGS]"]))
                .Write(path);
            using (var gguf = GgufFile.Open(path)) Assert.Equal(ToolCallFormat.MistralV11, ToolCallFormatDetector.ForModel(gguf));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
