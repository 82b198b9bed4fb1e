using System.Text.Json.Nodes;
using Hearth.Chat;

namespace Hearth.Tests.Chat;

/// <summary>Filters, with expected text from Jinja2's filter documentation (and, for tojson, Python's json.dumps as chat tooling calls it).</summary>
public sealed class FilterTests
{
    [Theory]
    [InlineData("{{ '  x  '|trim }}|{{ '--x--'|trim('-') }}|{{ 'x'|upper }}|{{ 'X'|lower }}", "x|x|X|x")]
    [InlineData("{{ 'hello big-world'|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ \"they're\"|title }}", "Hello Big-World|Hello world|They're")]
    [InlineData("{{ items|length }}|{{ s|length }}|{{ user|count }}|{{ empty|length }}", "3|5|2|0")]
    [InlineData("{{ items|join(', ') }}|{{ items|join }}|{{ msgs|join('/', attribute='role') }}", "3, 1, 2|312|user/assistant")]
    [InlineData("{{ msgs|map(attribute='role')|list }}|{{ ['a', 'b']|map('upper')|join }}|{{ [{'n': 1}, {}]|map(attribute='n', default=0)|list }}", "['user', 'assistant']|AB|[1, 0]")]
    [InlineData("{{ ['1', '2']|map('int')|sum }}|{{ ['a']|map('replace', 'a', 'b')|list }}", "3|['b']")]
    [InlineData("{{ items|select('odd')|list }}|{{ items|reject('odd')|list }}|{{ items|select('>', 1)|list }}|{{ [0, 1, '', 'a']|select|list }}", "[3, 1]|[2]|[3, 2]|[1, 'a']")]
    [InlineData("{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|first }}|{{ msgs|rejectattr('role', 'eq', 'user')|list|length }}", "hi|1")]
    [InlineData("{{ [{'t': 1}, {}]|selectattr('t', 'defined')|list }}|{{ [{'t': 1}, {}]|rejectattr('t')|list }}", "[{'t': 1}]|[{}]")]
    [InlineData("{{ items|first }}|{{ items|last }}|{{ s|first }}|[{{ empty|first }}]", "3|2|H|[]")]
    [InlineData("{{ items|sort }}|{{ items|sort(reverse=true) }}|{{ items|min }}|{{ items|max }}|{{ items|sum }}|{{ items|sum(start=10) }}", "[1, 2, 3]|[3, 2, 1]|1|3|6|16")]
    [InlineData("{{ ['b', 'a', 'C']|sort }}|{{ ['b', 'a', 'C']|sort(case_sensitive=true) }}|{{ ['b', 'A']|max }}", "['a', 'b', 'C']|['C', 'a', 'b']|b")]
    [InlineData("{{ [{'n': 2}, {'n': 1}]|sort(attribute='n') }}|{{ [{'v': 1}, {'v': 5}]|max(attribute='v') }}", "[{'n': 1}, {'n': 2}]|{'v': 5}")]
    [InlineData("{{ {'b': 1, 'a': 2}|dictsort }}|{{ {'b': 1, 'a': 2}|dictsort(by='value') }}|{{ {'b': 1, 'A': 2}|dictsort(reverse=true) }}", "[('a', 2), ('b', 1)]|[('b', 1), ('a', 2)]|[('b', 1), ('A', 2)]")]
    [InlineData("{{ [1, 2, 1, 3]|unique|list }}|{{ ['a', 'A']|unique|list }}|{{ ['a', 'A']|unique(case_sensitive=true)|list }}", "[1, 2, 3]|['a']|['a', 'A']")]
    [InlineData("{{ items|reverse|list }}|{{ s|reverse }}|{{ s|list }}|{{ user|list }}", "[2, 1, 3]|olleH|['H', 'e', 'l', 'l', 'o']|['name', 'age']")]
    [InlineData("{{ nope|default('d') }}|{{ ''|default('d') }}|{{ ''|default('d', true) }}|{{ none_value|default('d') }}|{{ nope|d('x') }}|{{ 0|d(5, boolean=true) }}", "d||d|None|x|5")]
    [InlineData("{{ 'a-b'|replace('-', '+') }}|{{ 'aaa'|replace('a', 'b', 2) }}|{{ 'ab'|replace('', '.') }}|{{ 123|replace('2', 'x') }}", "a+b|bba|.a.b.|1x3")]
    [InlineData("{{ '42'|int + 1 }}|{{ '4.7'|int }}|{{ 'x'|int }}|{{ 'x'|int(-1) }}|{{ '0x1f'|int(base=16) }}|{{ 3.9|int }}", "43|4|0|-1|31|3")]
    [InlineData("{{ '1.5'|float }}|{{ 3|float }}|{{ 'x'|float }}|{{ -4|abs }}|{{ -2.5|abs }}", "1.5|3.0|0.0|4|2.5")]
    [InlineData("{{ 42.55|round }}|{{ 42.55|round(1) }}|{{ 42.55|round(1, 'floor') }}|{{ 42.51|round(0, 'ceil') }}|{{ 2.5|round }}|{{ 42|round }}", "43.0|42.5|42.5|43.0|2.0|42")]
    [InlineData("{{ n|string ~ '!' }}|{{ items|string }}|{{ none_value|string }}", "3!|[3, 1, 2]|None")]
    [InlineData("{{ '<a & \"b\">'|e }}|{{ '<b>'|escape }}|{{ '<b>'|safe }}|{{ \"it's\"|e }}", "&lt;a &amp; &#34;b&#34;&gt;|&lt;b&gt;|<b>|it&#39;s")]
    [InlineData("{{ user|items|list }}|{{ nope|items|list }}|{{ [1, 2, 3, 4, 5]|batch(2)|list }}|{{ [1, 2, 3]|batch(2, 0)|list }}", "[('name', 'Ada'), ('age', 36)]|[]|[[1, 2], [3, 4], [5]]|[[1, 2], [3, 0]]")]
    [InlineData("{{ 'one two  three'|wordcount }}|[{{ 'ab'|center(6) }}]|{{ '%s=%d'|format('a', 1) }}|{{ s|attr('upper')() }}", "3|[  ab  ]|a=1|HELLO")]
    [InlineData("{{ 'a\\nb\\n\\nc'|indent }}", "a\n    b\n\n    c")]
    [InlineData("{{ 'a\\nb'|indent(2, first=true) }}|{{ 'a\\n\\nb'|indent('> ', blank=true) }}", "  a\n  b|a\n> \n> b")]
    [InlineData("{% filter upper %}a{{ s }}{% endfilter %}|{% filter replace('a', 'b')|upper %}aaa{% endfilter %}", "AHELLO|BBB")]
    [InlineData("{% set t | trim %}  x  {% endset %}[{{ t }}]", "[x]")]
    public void Applies(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Theory]
    [InlineData("{{ user|tojson }}", "{\"name\": \"Ada\", \"age\": 36}")]
    [InlineData("{{ {'b': [1, 2.5, none, true, 'é✓🚀'], 'a': ()}|tojson }}", "{\"b\": [1, 2.5, null, true, \"é✓🚀\"], \"a\": []}")]
    [InlineData("{{ {'a': [1, {}], 'b': {'c': []}}|tojson(indent=2) }}", "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": []\n  }\n}")]
    [InlineData("{{ 'q\"\\\\\\n\\t\\x01/'|tojson }}", "\"q\\\"\\\\\\n\\t\\u0001/\"")]
    [InlineData("{{ 'é'|tojson(ensure_ascii=true) }}|{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}|{{ [1, 'x']|tojson(separators=(',', ':')) }}", "\"\\u00e9\"|{\"a\": 2, \"b\": 1}|[1,\"x\"]")]
    [InlineData("{{ 1.0|tojson }}|{{ 1e100|tojson }}|{{ {1: 'i', true: 'b'}|tojson }}|{{ '</script>&'|tojson }}", "1.0|1e+100|{\"1\": \"b\"}|\"</script>&\"")]
    public void ToJsonWritesPythonJsonDumps(string template, string expected) => Assert.Equal(expected, Jinja.Render(template));

    [Fact]
    public void ToJsonKeepsToolCallArgumentsInInsertionOrder()
    {
        var messages = JsonNode.Parse("""
            [{"role": "assistant", "content": null, "tool_calls": [
              {"id": "c1", "type": "function", "function": {"name": "move", "arguments": {"to": "b/ü.txt", "from": "a.txt", "force": false, "n": 2}}}]}]
            """)!.AsArray();
        var template = ChatTemplate.Parse("{{ messages[0].tool_calls[0].function.arguments|tojson }}");
        Assert.Equal("{\"to\": \"b/ü.txt\", \"from\": \"a.txt\", \"force\": false, \"n\": 2}", template.Render(new ChatTemplateInput { Messages = messages }));
    }
}
