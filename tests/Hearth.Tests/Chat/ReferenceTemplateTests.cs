using System.Globalization;
using System.Text.Json.Nodes;
using Hearth.Chat;

namespace Hearth.Tests.Chat;

/// <summary>
/// Every case in <c>shared/templates</c>: real models' chat templates rendered by Python's Jinja2; ours must give the
/// same text byte for byte, and fail where Jinja2 failed (with the template's own message where it called raise_exception).
/// </summary>
public sealed class ReferenceTemplateTests
{
    public static TheoryData<string, int, string> Cases()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var path in Directory.GetFiles(TestData.Path("templates"), "*.json").Order(StringComparer.Ordinal))
        {
            var cases = JsonNode.Parse(File.ReadAllText(path))!["cases"]!.AsArray();
            for (int i = 0; i < cases.Count; i++) data.Add(Path.GetFileName(path), i, (string)cases[i]!["case"]!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RendersLikeJinja2(string file, int index, string caseName)
    {
        var spec = JsonNode.Parse(File.ReadAllText(TestData.Path("templates", file)))!;
        var source = File.ReadAllText(TestData.Path("templates", (string)spec["template"]!));
        var c = spec["cases"]![index]!;
        Assert.Equal(caseName, (string)c["case"]!);
        var template = ChatTemplate.Parse(source);
        var input = new ChatTemplateInput
        {
            Messages = c["messages"]!.DeepClone().AsArray(),
            Tools = c["tools"]?.DeepClone().AsArray(),
            AddGenerationPrompt = (bool)c["add_generation_prompt"]!,
            BosToken = (string)spec["bos_token"]!,
            EosToken = (string)spec["eos_token"]!,
            Now = DateTime.Parse((string)spec["strftime_now_date"]!, CultureInfo.InvariantCulture),
        };

        if (c["expected"] is { } expected)
        {
            Assert.Equal((string)expected!, template.Render(input));
            return;
        }

        string error = (string)c["error"]!;
        var e = Assert.ThrowsAny<TemplateException>(() => template.Render(input));
        if (source.Contains(error, StringComparison.Ordinal))
        {
            // The template raised it itself: the message must be the template's, exactly.
            var raised = Assert.IsType<TemplateRaisedException>(e);
            Assert.Equal(error, raised.Message);
        }
    }
}
