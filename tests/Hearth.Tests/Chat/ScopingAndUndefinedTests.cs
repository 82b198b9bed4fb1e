using Hearth.Chat;

namespace Hearth.Tests.Chat;

/// <summary>
/// Jinja2's scoping (a loop body is a fresh scope each iteration, <c>if</c> is not a scope, macros see their
/// definition scope at call time) and its default <c>Undefined</c> (prints empty, is false, iterates as empty,
/// fails when an attribute is taken, when called or in arithmetic).
/// </summary>
public sealed class ScopingAndUndefinedTests
{
    [Theory]
    [InlineData("{% set a = 1 %}{% for i in [1, 2] %}{% set a = a + i %}{{ a }}{% endfor %}{{ a }}", "231")]
    [InlineData("{% if true %}{% set a = 5 %}{% endif %}{{ a }}", "5")]
    [InlineData("{% for i in [1, 2] %}{% if i == 1 %}{% set z = 'one' %}{% endif %}[{{ z }}]{% endfor %}[{{ z }}]", "[one][][]")]
    [InlineData("{% for i in [1] %}{% endfor %}[{{ i }}]|{% for a in [] %}{% else %}{% set q = 1 %}{% endfor %}[{{ q }}]", "[]|[]")]
    [InlineData("{% macro m() %}{{ v }}{% endmacro %}{% set v = 1 %}{{ m() }}{% set v = 2 %}{{ m() }}", "12")]
    [InlineData("{% set v = 'outer' %}{% macro m() %}{% set v = 'inner' %}{{ v }}{% endmacro %}{{ m() }} {{ v }}", "inner outer")]
    [InlineData("{% set msgs = msgs[1:] %}{{ msgs|length }}", "1")]
    [InlineData("{% set n = n + 1 %}{{ n }}", "4")]
    [InlineData("{% for i in [1] %}{% set z = 1 %}{% for j in [1] %}{{ z }}{% set z = 2 %}{{ z }}{% endfor %}{{ z }}{% endfor %}", "121")]
    [InlineData("{% set ns = namespace(found=false) %}{% for m in msgs %}{% if m.role == 'assistant' %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}", "True")]
    [InlineData("[{{ nope }}]|{{ nope is defined }}|{{ nope|length }}|{{ nope ~ 'x' }}|{{ nope|default('d') }}|{{ nope|string }}|{{ nope|list }}", "[]|False|0|x|d||[]")]
    [InlineData("{% for a in nope %}x{% else %}empty{% endfor %}|{% if nope %}a{% else %}b{% endif %}|{{ not nope }}|{{ 'x' in nope }}", "empty|b|True|False")]
    [InlineData("[{{ user.missing }}]|{{ user.missing is defined }}|{{ items[10] is defined }}|{{ user['missing'] is undefined }}", "[]|False|False|True")]
    [InlineData("[{{ none_value.x }}]|[{{ s.nope }}]|{{ s.nope is defined }}|{{ nope == nope }}", "[]|[]|False|True")]
    [InlineData("{% for a in [1] %}[{{ loop.nextitem }}]{% endfor %}", "[]")]
    public void FollowsJinjaRules(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ nope.attr }}", "'nope' is undefined")]
    [InlineData("{{ nope['k'] }}", "'nope' is undefined")]
    [InlineData("{{ nope + 1 }}", "'nope' is undefined")]
    [InlineData("{{ nope() }}", "'nope' is undefined")]
    [InlineData("{{ user.missing.deeper }}", "'dict object' has no attribute 'missing'")]
    [InlineData("{{ s.nope() }}", "'str object' has no attribute 'nope'")]
    [InlineData("{{ nope|tojson }}", "Object of type Undefined is not JSON serializable")]
    public void UsingUndefinedStrictlyFails(string template, string message)
    {
        var e = Assert.Throws<TemplateException>(() => Jinja.Render(template));
        Assert.Equal($"line 1: {message}", e.Message);
        Assert.Equal(1, e.Line);
    }
}
