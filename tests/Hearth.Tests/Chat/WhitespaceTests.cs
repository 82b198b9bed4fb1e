namespace Hearth.Tests.Chat;

/// <summary>
/// Whitespace control as Jinja2 defines it with trim_blocks and lstrip_blocks on (the chat tooling's settings):
/// the first newline after a block or comment tag goes, spaces and tabs from the start of a line up to a block or
/// comment tag go, "-" strips all whitespace on its side, "+" turns either rule off, and one trailing newline of
/// the template is dropped.
/// </summary>
public sealed class WhitespaceTests
{
    [Theory]
    [InlineData("{% if true %}\nyes\n{% endif %}\nno", "yes\nno")]
    [InlineData("  {% if true %}\n  yes\n  {% endif %}\n", "  yes\n")]
    [InlineData("  {{ 'x' }}\n  {% if true %}y{% endif %}", "  x\ny")]
    [InlineData("a {% if true %}b{% endif %}", "a b")]
    [InlineData("\t {% if true %}tab{% endif %}", "tab")]
    [InlineData("a  {%- if true -%}  b  {%- endif -%}  c", "abc")]
    [InlineData("a  {{- 'b' -}}  c|{{ 'd' }}  {{- 'e' }}", "abc|de")]
    [InlineData("  {%+ if true %}x{% endif %}", "  x")]
    [InlineData("{% if true +%}\nx{% endif %}", "\nx")]
    [InlineData("a\n{# c #}\nb|a {#- c -#} b|a\n   {#- c #}\nb", "a\nb|ab|ab")]
    [InlineData("x\n", "x")]
    [InlineData("x\n\n", "x\n")]
    [InlineData("a\r\n{% if true %}\r\nb\r\n{% endif %}\r\n", "a\nb\n")]
    [InlineData("{% if true -%}\n\n  x{%- endif %}", "x")]
    [InlineData("{{ 'a' }}\nb", "a\nb")]
    [InlineData("{%- raw -%}  x  {%- endraw -%}|", "x|")]
    [InlineData("  {% raw %}\n{{ x }}\n  {% endraw %}\nz", "\n{{ x }}\nz")]
    [InlineData("{%- for m in msgs %}\n    {{- m.role }}: {{ m.content }}\n{% endfor %}", "user: hi\nassistant: yo\n")]
    [InlineData("{% for m in msgs %}\n  {% if m.role == 'user' %}\n    U: {{ m.content }}\n  {% else %}\n    A: {{ m.content }}\n  {% endif %}\n{% endfor %}", "    U: hi\n    A: yo\n")]
    [InlineData("{% macro m() %}\n  body\n{% endmacro %}\n[{{ m() }}]", "[  body\n]")]
    [InlineData("{% set t %}\n  line\n{% endset %}[{{ t }}]", "[  line\n]")]
    [InlineData("text {% if true %}\nyes\n{% endif %} after", "text yes\n after")]
    public void ControlsWhitespace(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
