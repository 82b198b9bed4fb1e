namespace Hearth.Tests.Chat;

/// <summary>Statements (if, for and its loop variable, set, namespace, macro, call, filter, with, raw, do), per Jinja2's template designer documentation.</summary>
public sealed class StatementTests
{
    [Theory]
    [InlineData("{% if n > 5 %}big{% elif n > 2 %}mid{% else %}small{% endif %}", "mid")]
    [InlineData("{% if n > 5 %}big{% elif n > 4 %}mid{% endif %}[]", "[]")]
    [InlineData("{% if n is defined and n > 0 and not (n == 2) %}yes{% endif %}", "yes")]
    [InlineData("{% for a in ['x', 'y', 'z'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}",
        "1032TrueFalse3 2121FalseFalse3 3210FalseTrue3 ")]
    [InlineData("{% for a in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", "-2;1-3;2-;")]
    [InlineData("{% for a in [1, 2, 3] %}{{ loop.previtem is defined }}{% endfor %}", "FalseTrueTrue")]
    [InlineData("{% for a in [1, 2, 3] %}{{ loop.cycle('odd', 'even') }} {% endfor %}", "odd even odd ")]
    [InlineData("{% for a in [1, 1, 2] %}{{ loop.changed(a) }} {% endfor %}", "True False True ")]
    [InlineData("{% for a in empty %}x{% else %}none{% endfor %}|{% for a in items %}{{ a }}{% else %}none{% endfor %}", "none|312")]
    [InlineData("{% for a in range(10) if a % 3 == 0 %}{{ a }}:{{ loop.index }}/{{ loop.length }} {% endfor %}", "0:1/4 3:2/4 6:3/4 9:4/4 ")]
    [InlineData("{% for k, v in user.items() %}{{ k }}={{ v }};{% endfor %}|{% for k, v in user|dictsort %}{{ k }}={{ v }};{% endfor %}", "name=Ada;age=36;|age=36;name=Ada;")]
    [InlineData("{% for k in user %}{{ k }} {% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %}", "name age |h.é.l.l.o.")]
    [InlineData("{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }} {% endfor %}", "3 7 ")]
    [InlineData("{% for a in range(10) %}{% if a == 5 %}{% break %}{% endif %}{% if a is odd %}{% continue %}{% endif %}{{ a }}{% endfor %}", "024")]
    [InlineData("{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}", "121;122;")]
    [InlineData("{% for i in range(2) %}{% for j in range(3) %}{% if j == 1 %}{% break %}{% endif %}{{ i }}{{ j }} {% endfor %}{% endfor %}", "00 10 ")]
    [InlineData("{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = 1, 2 %}{{ t }}", "12|(1, 2)")]
    [InlineData("{% set t %}x{{ n }}{% endset %}{{ t }}{{ t|length }}", "x32")]
    [InlineData("{% set ns = namespace(count=0) %}{% for m in msgs %}{% set ns.count = ns.count + 1 %}{% endfor %}{{ ns.count }}|{{ namespace(a=1) }}", "2|<Namespace {'a': 1}>")]
    [InlineData("{% set ns = namespace(seen=[]) %}{% for a in [1, 2] %}{% set ns.seen = ns.seen + [a] %}{% endfor %}{{ ns.seen }}", "[1, 2]")]
    [InlineData("{% with a = 1, b = n %}{{ a + b }}{% endwith %}[{{ a }}]", "4[]")]
    [InlineData("{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ada') }} {{ greet('Bob', greeting='Hi') }} {{ greet() }}",
        "Hello, Ada! Hi, Bob! Hello, !")]
    [InlineData("{% macro m(a, b=a) %}{{ b }}{% endmacro %}{{ m(5) }}", "5")]
    [InlineData("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, k=3) }}", "1(2,){'k': 3}")]
    [InlineData("{% macro m(a, b) %}{{ a }}{{ b }}{% endmacro %}{{ m(*[1, 2]) }}{{ m(**{'a': 3, 'b': 4}) }}", "1234")]
    [InlineData("{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ s }}{% endcall %}", "<b>bold Hello</b>")]
    [InlineData("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) each(items) %}[{{ v }}]{% endcall %}", "[3][1][2]")]
    [InlineData("{% macro count(k) %}{{ k }}{% if k > 0 %}{{ count(k - 1) }}{% endif %}{% endmacro %}{{ count(3) }}", "3210")]
    [InlineData("{% macro a() %}A{{ b() }}{% endmacro %}{% macro b() %}B{% endmacro %}{{ a() }}", "AB")]
    [InlineData("{% macro m() %}ab{% endmacro %}{{ m() ~ 'c' }}{{ m()|upper }}{{ m() + 'd' }}{{ m()|length }}", "abcABabd2")]
    [InlineData("{% raw %}{{ not a variable }}{% if %}{% endraw %}", "{{ not a variable }}{% if %}")]
    [InlineData("a{# hidden {{ n }} #}b", "ab")]
    [InlineData("{% set l = [] %}{% do l.append(1) %}{% set _ = l.append(2) %}{{ l }}", "[1, 2]")]
    [InlineData("{% set l = [] %}{% for m in msgs %}{% set _ = l.append(m.role) %}{% endfor %}{{ l|join(',') }}", "user,assistant")]
    [InlineData("{% set d = {} %}{% set _ = d.update({'k': 'v'}) %}{{ d }}|{{ d.k }}", "{'k': 'v'}|v")]
    [InlineData("{% generation %}kept{% endgeneration %}", "kept")]
    public void Executes(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));
}
