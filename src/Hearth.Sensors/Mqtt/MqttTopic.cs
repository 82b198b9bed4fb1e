namespace Hearth.Sensors.Mqtt;

/// <summary>Topic names and topic filters as the MQTT specification defines them (section 4.7).</summary>
public static class MqttTopic
{
    /// <summary>True when <paramref name="filter"/> is a valid topic filter: non-empty, '#' only as the whole last
    /// level, '+' only as a whole level.</summary>
    public static bool IsValidFilter(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Length == 0 || filter.Contains('\0')) return false;
        var levels = filter.Split('/');
        for (int i = 0; i < levels.Length; i++)
        {
            string level = levels[i];
            if (level.Contains('#') && (level != "#" || i != levels.Length - 1)) return false;
            if (level.Contains('+') && level != "+") return false;
        }
        return true;
    }

    /// <summary>True when <paramref name="topic"/> is a valid topic name: non-empty, no wildcards, no NUL.</summary>
    public static bool IsValidTopicName(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return topic.Length > 0 && topic.IndexOfAny(['+', '#', '\0']) < 0;
    }

    /// <summary>Whether a message published to <paramref name="topic"/> is delivered to a subscription with
    /// <paramref name="filter"/>. '+' matches exactly one level (possibly empty), '#' the parent level and any number
    /// of child levels; wildcards in the first level never match topics starting with '$'.</summary>
    /// <exception cref="ArgumentException">The filter or the topic name is invalid.</exception>
    public static bool Matches(string filter, string topic)
    {
        if (!IsValidFilter(filter)) throw new ArgumentException($"'{filter}' is not a valid MQTT topic filter.", nameof(filter));
        if (!IsValidTopicName(topic)) throw new ArgumentException($"'{topic}' is not a valid MQTT topic name.", nameof(topic));
        if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;

        var f = filter.Split('/');
        var t = topic.Split('/');
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] == "#") return true; // also matches the parent: "a/#" matches "a"
            if (i >= t.Length) return false;
            if (f[i] != "+" && f[i] != t[i]) return false;
        }
        return f.Length == t.Length;
    }
}
