namespace Hearth.Tests.Chat;

/// <summary>
/// Expressions, with expected text worked out from Jinja2's and Python's documented semantics: Python's str() of
/// values, int/float arithmetic, Jinja2's operator precedence, tests, and the str/list/dict methods templates call.
/// The variables are <see cref="Jinja.Context"/>.
/// </summary>
public sealed class ExpressionTests
{
    [Theory]
    // literals, printed the way Python's str() prints them
    [InlineData("{{ 42 }}|{{ -7 }}|{{ 0x1F }}|{{ 1_000 }}", "42|-7|31|1000")]
    [InlineData("{{ 1.5 }}|{{ 1e3 }}|{{ 2.0 }}|{{ -0.25 }}", "1.5|1000.0|2.0|-0.25")]
    [InlineData("{{ 1e16 }}|{{ 1e15 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 1.5e-7 }}", "1e+16|1000000000000000.0|0.0001|1e-05|1.5e-07")]
    [InlineData("{{ true }}|{{ True }}|{{ false }}|{{ none }}|{{ None }}", "True|True|False|None|None")]
    [InlineData("{{ 'a\\nb' }}|{{ \"tab\\there\" }}|{{ 'q\\'s' }}|{{ '\\u00e9\\x41' }}", "a\nb|tab\there|q's|éA")]
    [InlineData("{{ 'con' \"cat\" 'enated' }}", "concatenated")]
    [InlineData("{{ [1, 'two', none, true, 2.5] }}", "[1, 'two', None, True, 2.5]")]
    [InlineData("{{ {'k': 'v', 'n': [1]} }}|{{ {} }}|{{ [] }}", "{'k': 'v', 'n': [1]}|{}|[]")]
    [InlineData("{{ (1, 2) }}|{{ (1,) }}|{{ () }}", "(1, 2)|(1,)|()")]
    [InlineData("{{ [\"it's\", 'say \"hi\"', 'both \\' and \"', 'nl\\n'] }}", "[\"it's\", 'say \"hi\"', 'both \\' and \"', 'nl\\n']")]
    [InlineData("{{ user }}|{{ msgs[0] }}", "{'name': 'Ada', 'age': 36}|{'role': 'user', 'content': 'hi'}")]
    // arithmetic: / is true division, // floors, % takes the divisor's sign, ** is left-associative in Jinja
    [InlineData("{{ 7 / 2 }}|{{ 6 / 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}", "3.5|3.0|3|-4|1|2")]
    [InlineData("{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 2 ** 3 ** 2 }}|{{ -2 ** 2 }}|{{ 7.5 // 2 }}|{{ 7.5 % 2 }}", "1024|0.5|64|4|3.0|1.5")]
    [InlineData("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 10 - 2 - 3 }}|{{ 1 + 1.5 }}|{{ true + 1 }}", "7|9|5|2.5|2")]
    [InlineData("{{ 0.1 + 0.2 }}|{{ 1 / 3 }}|{{ 2 / 3 * 3 }}", "0.30000000000000004|0.3333333333333333|2.0")]
    [InlineData("{{ 'ab' * 3 }}|{{ 2 * 'x' }}|{{ [0] * 2 }}|{{ [1] + [2] }}|{{ 'a' + 'b' }}", "ababab|xx|[0, 0]|[1, 2]|ab")]
    [InlineData("{{ 'a' ~ 1 ~ none ~ true ~ 2.5 }}|{{ 'n=' ~ (n + 1) }}|{{ 1 ~ 2 * 3 }}", "a1NoneTrue2.5|n=4|16")]
    // comparisons (chained as in Python), membership, logic
    [InlineData("{{ 1 < 2 < 3 }}|{{ 1 < 3 < 2 }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ '1' == 1 }}", "True|False|True|True|False")]
    [InlineData("{{ 'a' < 'b' }}|{{ [1, 2] < [1, 3] }}|{{ 'a' != 'a' }}|{{ n >= 3 }}|{{ n > 3 }}", "True|True|False|True|False")]
    [InlineData("{{ 'ell' in s }}|{{ 2 in items }}|{{ 'name' in user }}|{{ 5 not in items }}|{{ 'x' not in s }}", "True|True|True|True|True")]
    [InlineData("{{ true and 'x' }}|{{ 0 or 'y' }}|{{ none or false }}|{{ not empty }}|{{ '' and 1 }}|", "x|y|False|True||")]
    [InlineData("{{ 'a' if flag else 'b' }}|{{ 'a' if not flag else 'b' }}|[{{ 'a' if not flag }}]", "a|b|[]")]
    [InlineData("{{ 'x' if none_value else 'y' if 0 else 'z' }}", "z")]
    // attribute, item and slice access
    [InlineData("{{ user.name }}|{{ user['age'] }}|{{ items[0] }}|{{ items[-1] }}|{{ items.1 }}|{{ msgs[1].content }}", "Ada|36|3|2|1|yo")]
    [InlineData("{{ s[1:3] }}|{{ s[::-1] }}|{{ items[1:] }}|{{ items[::2] }}|{{ s[-3:] }}|{{ items[:-1] }}|{{ items[5:] }}", "el|olleH|[1, 2]|[3, 2]|llo|[3, 1]|[]")]
    [InlineData("{{ (1, 2)[0] }}{{ ((1, 2), 3)[0][1] }}{{ [[1, 2]][0][-1] }}", "122")]
    [InlineData("{{ range(5)[1:3] }}|{{ range(5)[-1] }}|{{ range(3) }}", "range(1, 3)|4|range(0, 3)")]
    // Python truthiness
    [InlineData("{% if empty %}a{% else %}b{% endif %}{% if '' %}a{% else %}b{% endif %}{% if 0.0 %}a{% else %}b{% endif %}{% if {} %}a{% else %}b{% endif %}{% if none_value %}a{% else %}b{% endif %}{% if 'x' %}a{% endif %}{% if [0] %}a{% endif %}", "bbbbbaa")]
    // strings are sequences of code points, not UTF-16 units
    [InlineData("{{ '🚀ab'|length }}|{{ '🚀ab'[0] }}|{{ 'a🚀'[::-1] }}|{{ 'a🚀b'[1:2] }}", "3|🚀|🚀a|🚀")]
    public void Evaluates(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ n is odd }}|{{ n is even }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(4) }}", "True|False|True|False")]
    [InlineData("{{ s is string }}|{{ n is number }}|{{ n is integer }}|{{ 1.5 is float }}|{{ flag is boolean }}", "True|True|True|True|True")]
    [InlineData("{{ user is mapping }}|{{ items is mapping }}|{{ items is sequence }}|{{ s is iterable }}|{{ n is iterable }}|{{ user is iterable }}", "True|False|True|True|False|True")]
    [InlineData("{{ none_value is none }}|{{ n is not none }}|{{ flag is true }}|{{ 1 is true }}|{{ false is false }}", "True|True|True|False|True")]
    [InlineData("{{ n is defined }}|{{ nope is undefined }}|{{ nope is defined }}|{{ none_value is defined }}", "True|True|False|True")]
    [InlineData("{{ n is equalto 3 }}|{{ n is eq(3) }}|{{ n == 3 }}|{{ n is ne 3 }}|{{ n is lt 4 }}|{{ n is ge 4 }}|{{ n is in items }}", "True|True|True|False|True|False|True")]
    [InlineData("{{ true is number }}|{{ true is integer }}|{{ 1.0 is integer }}|{{ 6 is divisibleby 3 is odd }}", "True|False|False|True")]
    [InlineData("{{ range is callable }}|{{ s.upper is callable }}|{{ n is callable }}|{{ 'abc' is lower }}|{{ 'ABC' is upper }}", "True|True|False|True|True")]
    [InlineData("{{ 'upper' is filter }}|{{ 'odd' is test }}|{{ 'nope' is filter }}|{{ not n is odd }}|{{ n is not odd }}", "True|True|False|False|False")]
    public void RunsTests(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x'.lstrip() }}|{{ 'x  '.rstrip() }}|{{ 'a-b'.rstrip('b') }}", "x|a|x|x|a-")]
    [InlineData("{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'a b c'.split(maxsplit=1) }}", "['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|['a b', 'c']|['a', 'b c']")]
    [InlineData("{{ s.startswith('He') }}|{{ s.endswith(('x', 'lo')) }}|{{ s.startswith('l', 2) }}|{{ s.upper() }}|{{ s.lower() }}", "True|True|True|HELLO|hello")]
    [InlineData("{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ \"they're\".title() }}", "Hello World|Hello|They'Re")]
    [InlineData("{{ s.replace('l', 'L') }}|{{ s.replace('l', 'L', 1) }}|{{ s.find('l') }}|{{ s.rfind('l') }}|{{ s.find('z') }}|{{ s.count('l') }}|{{ s.index('e') }}", "HeLLo|HeLlo|2|3|-1|2|1")]
    [InlineData("{{ '-'.join(['a', 'b']) }}|{{ '{} is {}'.format('x', 1) }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='Ada') }}", "a-b|x is 1|aba|Ada!")]
    [InlineData("{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ '5'.zfill(3) }}|{{ 'a=b=c'.partition('=') }}|{{ 'pre_x'.removeprefix('pre_') }}|{{ '12'.isdigit() }}", "['a', 'b', 'c']|005|('a', '=', 'b=c')|x|True")]
    [InlineData("{{ user.get('name') }}|{{ user.get('x', 'd') }}|{{ user.get('x') }}|{{ user.keys()|list }}|{{ user.values()|list }}", "Ada|d|None|['name', 'age']|['Ada', 36]")]
    [InlineData("{{ user.items()|list }}|{{ user.items() }}", "[('name', 'Ada'), ('age', 36)]|dict_items([('name', 'Ada'), ('age', 36)])")]
    [InlineData("{{ items.index(1) }}|{{ items.count(3) }}|{% set l = [3, 1, 2] %}{% do l.sort() %}{{ l }}|{{ l.pop() }}{{ l }}|{% do l.insert(0, 9) %}{{ l }}", "1|1|[1, 2, 3]|3[1, 2]|[9, 1, 2]")]
    [InlineData("{% set d = {'a': 1} %}{% do d.update({'b': 2}) %}{{ d }}|{{ d.pop('a') }}{{ d }}|{{ d.setdefault('z', 0) }}{{ d }}", "{'a': 1, 'b': 2}|1{'b': 2}|0{'b': 2, 'z': 0}")]
    [InlineData("{{ '%s has %d' % ('Ada', 2) }}|{{ '%.2f' % 3.14159 }}|{{ '%5s|%-3d|' % ('ab', 7) }}|{{ '%d%%' % 50 }}", "Ada has 2|3.14|   ab|7  ||50%")]
    [InlineData("{{ dict(a=1) }}|{{ dict([('k', 'v')]) }}|{{ range(3)|list }}|{{ range(1, 8, 3)|list }}|{{ range(3, 0, -1)|list }}", "{'a': 1}|{'k': 'v'}|[0, 1, 2]|[1, 4, 7]|[3, 2, 1]")]
    public void CallsPythonMethodsAndGlobals(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ strftime_now('%d %b %Y') }}", "21 Nov 2026")]
    [InlineData("{{ strftime_now('%Y-%m-%d %H:%M:%S') }}", "2026-11-21 09:30:00")]
    [InlineData("{{ strftime_now('%A, %B %-d') }}", "Saturday, November 21")]
    [InlineData("{{ strftime_now('%I:%M %p, day %j, %a %y') }}", "09:30 AM, day 325, Sat 26")]
    [InlineData("{{ strftime_now('%%Y is %Y') }}", "%Y is 2026")]
    public void FormatsTheInjectedNow(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Fact]
    public void JsonNumbersKeepIntegerOrFloatType()
    {
        // Python's json.loads: 5 is an int, 5.0 and 1e2 are floats.
        Assert.Equal("5 5.0 100.0 10", Jinja.Render("{{ i }} {{ f }} {{ e }} {{ i * 2 }}", """{"i": 5, "f": 5.0, "e": 1e2}"""));
    }
}
