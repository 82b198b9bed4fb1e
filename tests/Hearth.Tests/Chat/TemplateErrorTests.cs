using System.Text.Json.Nodes;
using Hearth.Chat;

namespace Hearth.Tests.Chat;

/// <summary>
/// What the interpreter refuses: unsupported or unknown constructs fail at parse time naming the construct and its
/// line, runtime errors name the line, raise_exception carries the template's message exactly, and runaway templates
/// stop with an error instead of exhausting the stack or memory.
/// </summary>
public sealed class TemplateErrorTests
{
    [Theory]
    [InlineData("first line\n{{ x|xmlattr }}", 2, "unsupported filter 'xmlattr'")]
    [InlineData("{{ x|frobnicate }}", 1, "unknown filter 'frobnicate'")]
    [InlineData("\n\n{% include 'other.jinja' %}", 3, "unsupported tag 'include'")]
    [InlineData("{% extends 'base' %}", 1, "unsupported tag 'extends'")]
    [InlineData("{% if true %}\n{% frob %}\n{% endif %}", 2, "unknown tag 'frob'; expected 'elif' or 'else' or 'endif'")]
    [InlineData("a\nb\n{{ x is frobnicated }}", 3, "unknown test 'frobnicated'")]
    [InlineData("{{ x is escaped }}", 1, "unsupported test 'escaped'")]
    [InlineData("{% for a in b recursive %}{% endfor %}", 1, "unsupported: recursive for loops")]
    [InlineData("{% break %}", 1, "'break' outside of a loop")]
    [InlineData("{% for a in b %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", 1, "'continue' outside of a loop")]
    [InlineData("{% if x %}\nunclosed", 2, "unexpected end of template, expected 'elif' or 'else' or 'endif'; the innermost block that needs to be closed is 'if'")]
    [InlineData("{% endif %}", 1, "unknown tag 'endif'")]
    [InlineData("{{ 1 + }}", 1, "unexpected end of print statement")]
    [InlineData("{{ 'abc }}", 1, "unterminated string literal")]
    [InlineData("{# no end", 1, "missing end of comment tag")]
    [InlineData("{{ x", 1, "unexpected end of template, expected '}}'")]
    [InlineData("{{ (1, 2] }}", 1, "unexpected ']', expected ')'")]
    [InlineData("{% set true = 1 %}", 1, "can't assign to const")]
    [InlineData("{% macro m(a=1, b) %}{% endmacro %}", 1, "non-default argument follows default argument")]
    [InlineData("{{ x is defined is none }}", 1, "you cannot chain multiple tests with is")]
    public void RejectsAtParseTimeNamingTheLine(string template, int line, string detail)
    {
        var e = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(template));
        Assert.Equal(line, e.Line);
        Assert.Equal(detail, e.Detail);
        Assert.Equal($"line {line}: {detail}", e.Message);
    }

    [Theory]
    [InlineData("{{ 'a' + 1 }}", 1, "can only concatenate str (not \"int\") to str")]
    [InlineData("a\nb\n{{ 1 / 0 }}", 3, "division by zero")]
    [InlineData("{{ 1 + 'a' }}", 1, "unsupported operand type(s) for +: 'int' and 'str'")]
    [InlineData("{{ 'a' < 1 }}", 1, "'<' not supported between instances of 'str' and 'int'")]
    [InlineData("{% for a in 5 %}{% endfor %}", 1, "'int' object is not iterable")]
    [InlineData("{% for a in none_value %}{% endfor %}", 1, "'NoneType' object is not iterable")]
    [InlineData("{% set a, b = [1, 2, 3] %}", 1, "too many values to unpack (expected 2)")]
    [InlineData("{% set n.x = 1 %}", 1, "cannot assign attribute on non-namespace object 'n'")]
    [InlineData("{{ 'x'.encode() }}", 1, "unsupported: str method 'encode'")]
    [InlineData("{{ items|map('string') }}", 1, "unsupported: printing a generator object")]
    [InlineData("{{ items|select|length }}", 1, "object of type 'generator' has no len()")]
    [InlineData("{{ s.upper }}", 1, "unsupported: printing a builtin_function_or_method object")]
    [InlineData("{{ cycler(1, 2) }}", 1, "unsupported: global function 'cycler'")]
    [InlineData("{% macro m(a) %}{% endmacro %}\n{{ m(1, 2) }}", 2, "macro 'm' takes not more than 1 argument(s)")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", 1, "macro 'm' takes no keyword argument 'b'")]
    [InlineData("{{ items|map('xmlattr')|list }}", 1, "unsupported filter 'xmlattr'")]
    [InlineData("{{ 2 ** 70 }}", 1, "integer overflow: Hearth's template integers are 64-bit")]
    [InlineData("{{ strftime_now('%Q') }}", 1, "unsupported strftime code '%Q'")]
    [InlineData("{{ '%e' % 1.5 }}", 1, "unsupported: format character 'e' in a %-format")]
    [InlineData("{{ 'n=' ~ n + 1 }}", 1, "can only concatenate str (not \"int\") to str")]
    public void FailsAtRenderTimeNamingTheLine(string template, int line, string detail)
    {
        var e = Assert.Throws<TemplateException>(() => Jinja.Render(template));
        Assert.Equal(line, e.Line);
        Assert.Equal(detail, e.Detail);
    }

    [Fact]
    public void RaiseExceptionCarriesTheTemplatesMessageExactly()
    {
        var e = Assert.Throws<TemplateRaisedException>(() => Jinja.Render("ok\n{% if n > 2 %}{{ raise_exception('Bad count: ' ~ n) }}{% endif %}"));
        Assert.Equal("Bad count: 3", e.Message);
        Assert.Equal(2, e.Line);
        Assert.IsAssignableFrom<HearthException>(e);
    }

    [Fact]
    public void RunawayTemplatesStopWithAnError()
    {
        Assert.Contains("runaway recursion", Assert.Throws<TemplateException>(() => Jinja.Render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}")).Message);
        Assert.Contains("longer than", Assert.Throws<TemplateException>(() => Jinja.Render("{{ 'x' * 100000000 }}")).Message);
        Assert.Contains("longer than", Assert.Throws<TemplateException>(() => Jinja.Render(
            "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")).Message);
        Assert.Contains("loop iterations", Assert.Throws<TemplateException>(() => Jinja.Render(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}")).Message);
        string deep = "{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}";
        Assert.Contains("nested too deeply", Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(deep)).Message);
    }

    [Theory]
    [InlineData("{% macro f(n) %}{% if n > 0 %}{{ f(n) }}{% endif %}{% endmacro %}{{ f(1) }}")]
    [InlineData("{% set a = [] %}{% set b = [] %}{% do a.append(b) %}{% do b.append(a) %}{{ a == b }}")]
    [InlineData("{% set a = [] %}{% do a.append(a) %}{{ a }}")]
    [InlineData("{% set a = [] %}{% do a.append(a) %}{{ a|tojson }}")]
    public void DeepRecursionIsAnErrorEvenOnASmallStack(string template)
    {
        Exception? caught = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    Jinja.Render(template);
                }
                catch (Exception e)
                {
                    caught = e;
                }
            },
            256 * 1024);
        thread.Start();
        thread.Join();
        Assert.IsType<TemplateException>(caught);
    }

    [Fact]
    public void DeeplyNestedBlocksAreASyntaxErrorEvenOnASmallStack()
    {
        string template = string.Concat(Enumerable.Repeat("{% if true %}", 3000)) + string.Concat(Enumerable.Repeat("{% endif %}", 3000));
        Exception? caught = null;
        var thread = new Thread(
            () =>
            {
                try
                {
                    ChatTemplate.Parse(template);
                }
                catch (Exception e)
                {
                    caught = e;
                }
            },
            256 * 1024);
        thread.Start();
        thread.Join();
        Assert.IsType<TemplateSyntaxException>(caught);
    }

    [Fact]
    public void ReservedNamesCannotBePassedAsExtraVariables()
    {
        var template = ChatTemplate.Parse("{{ messages }}");
        var input = new ChatTemplateInput { Variables = new Dictionary<string, JsonNode?> { ["messages"] = new JsonArray() } };
        Assert.Throws<ArgumentException>(() => template.Render(input));
    }

    [Fact]
    public void ChatInputFromJsonRejectsWrongShapes()
    {
        Assert.Throws<ChatInputException>(() => ChatTemplateInput.FromJson("{\"role\": \"user\"}"));
        Assert.Throws<ChatInputException>(() => ChatTemplateInput.FromJson("[1, 2]"));
        Assert.Throws<ChatInputException>(() => ChatTemplateInput.FromJson("not json"));
        Assert.Throws<ChatInputException>(() => ChatTemplateInput.FromJson("[]", "{\"not\": \"an array\"}"));
        var input = ChatTemplateInput.FromJson("""{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}""");
        Assert.Single(input.Messages);
        Assert.Single(input.Tools!);
    }
}
