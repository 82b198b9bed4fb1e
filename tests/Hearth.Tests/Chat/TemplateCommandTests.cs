using System.CommandLine;
using Hearth.Chat;
using Hearth.Cli;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Chat;

/// <summary><c>hearth template render</c>, run in-process with captured output.</summary>
public sealed class TemplateCommandTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Run(string stdin, params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { TemplateCommand.Create(new StringReader(stdin), output) };
        var config = new InvocationConfiguration { Output = output, Error = new StringWriter(), EnableDefaultExceptionHandler = false };
        int code = root.Parse(args).Invoke(config);
        Assert.Equal(0, code);
        return output.ToString();
    }

    private string WriteFile(string name, string text)
    {
        var path = _files.NewPath(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void RendersAReferenceTemplateExactlyWithAFixedNow()
    {
        var template = TestData.Path("templates", "meta-llama-Llama-3.2-3B-Instruct.jinja");
        var messages = WriteFile("m.json", """[{"role": "user", "content": "Hello!"}]""");
        var output = Run("", "template", "render", "--template", template, "--messages", messages,
            "--bos-token", "<|begin_of_text|>", "--now", "2026-11-21T09:30:00");
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 21 Nov 2026\n\n<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            output);
    }

    [Fact]
    public void ReadsMessagesFromStdinAndHonoursNoGenerationPrompt()
    {
        var output = Run("""{"messages": [{"role": "user", "content": "Hi"}]}""", "template", "render", "--builtin", "chatml", "--messages", "-", "--no-generation-prompt");
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n", output);
    }

    [Fact]
    public void PassesToolsAndExtraVariables()
    {
        var template = WriteFile("t.jinja", "{{ tools|map(attribute='name')|join(',') }}|{{ flag }}|{{ label }}");
        var messages = WriteFile("m2.json", "[]");
        var tools = WriteFile("tools.json", """[{"name": "a"}, {"name": "b"}]""");
        Assert.Equal("a,b|True|plain text", Run("", "template", "render", "--template", template, "--messages", messages, "--tools", tools, "--var", "flag=true", "--var", "label=plain text"));
    }

    [Fact]
    public void UsesTheModelsTemplateOrFallback()
    {
        var messages = WriteFile("m3.json", """[{"role": "user", "content": "Once"}]""");
        var output = Run("", "template", "render", "--model", TestData.Path("models", "stories260K.gguf"), "--messages", messages);
        Assert.Equal("<|im_start|>user\nOnce<|im_end|>\n<|im_start|>assistant\n", output);
    }

    [Fact]
    public void NeedsExactlyOneTemplateSource()
    {
        var messages = WriteFile("m4.json", "[]");
        Assert.Throws<ArgumentException>(() => Run("", "template", "render", "--messages", messages));
        Assert.Throws<ArgumentException>(() => Run("", "template", "render", "--builtin", "chatml", "--template", messages, "--messages", messages));
        Assert.Throws<ArgumentException>(() => Run("", "template", "render", "--builtin", "chatml", "--messages", messages, "--now", "yesterday"));
    }

    [Fact]
    public void TemplateErrorsSurfaceAsHearthExceptions()
    {
        var template = WriteFile("bad.jinja", "{{ raise_exception('no') }}");
        var messages = WriteFile("m5.json", "[]");
        Assert.Equal("no", Assert.Throws<TemplateRaisedException>(() => Run("", "template", "render", "--template", template, "--messages", messages)).Message);
    }
}
