using System.Text.Json.Nodes;

namespace Hearth.Sensors;

/// <summary>One sensor reading: where it came from, when it was taken, and its fields (signal name → value).</summary>
/// <param name="Source">The source that delivered it (an MQTT topic, a file, the HTTP endpoint).</param>
/// <param name="Timestamp">When the reading was taken.</param>
/// <param name="Fields">The reading's JSON object.</param>
public sealed record Reading(string Source, DateTimeOffset Timestamp, JsonObject Fields);
