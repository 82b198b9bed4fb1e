using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Hearth;

/// <summary>
/// Typed access to the nodes of a YAML policy file, throwing errors located at the offending node. Compiled into each
/// library that reads a policy (linked source, so the engine library does not depend on YamlDotNet); each supplies its
/// own exception type through <see cref="Error"/>.
/// </summary>
internal abstract class YamlPolicyReader<TException> where TException : Exception
{
    /// <summary>The error for a problem at a node.</summary>
    public abstract TException Error(YamlNode node, string problem);

    public YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value lines)");

    public YamlSequenceNode Sequence(YamlNode node, string what) =>
        node as YamlSequenceNode ?? throw Error(node, $"{what} must be a list ('- item' lines or [a, b])");

    /// <summary>Refuses any key of a mapping that is not in <paramref name="allowed"/>.</summary>
    public void CheckKeys(YamlMappingNode m, string[] allowed, string where)
    {
        foreach (var key in m.Children.Keys)
        {
            var k = Text(key, "a key");
            if (!allowed.Contains(k)) throw Error(key, $"{where}: unknown key '{k}' (allowed: {string.Join(", ", allowed)})");
        }
    }

    public YamlNode? Optional(YamlMappingNode m, string key) => m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public YamlNode Required(YamlMappingNode m, string key, string where) =>
        Optional(m, key) ?? throw Error(m, $"{where}: missing required key '{key}'");

    public string Text(YamlNode node, string what) => node is YamlScalarNode { Value: { Length: > 0 } v }
        ? v
        : throw Error(node, $"{what} must be a non-empty text value");

    /// <summary>A finite number (greater than 0 when <paramref name="positive"/>).</summary>
    public double Number(YamlNode node, string what, bool positive = false)
    {
        var text = Text(node, what);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw Error(node, $"{what} must be a number, not '{text}'");
        if (positive && v <= 0) throw Error(node, $"{what} must be greater than 0, not {text}");
        return v;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public long Integer(YamlNode node, string what, long min, long max)
    {
        var text = Text(node, what);
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw Error(node, $"{what} must be a whole number from {min} to {max}, not '{text}'");
        return v;
    }

    public int Int(YamlNode node, string what, int min, int max) => (int)Integer(node, what, min, max);

    public bool Bool(YamlNode node, string what) => Text(node, what) switch
    {
        "true" => true, "false" => false,
        var t => throw Error(node, $"{what} must be true or false, not '{t}'"),
    };
}
