using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Sensors.Slm;

/// <summary>A check to run for one reading, with its rendered prompt (the input to give <see cref="ISlmClassifier"/>).</summary>
/// <param name="Check">The check.</param>
/// <param name="Input">Its prompt template with every placeholder filled in.</param>
public sealed record SlmCheckRequest(SlmCheckSpec Check, string Input);

/// <summary>
/// Decides which of a policy's small-language-model checks run for a reading, and renders their prompts. Pure: the result
/// depends only on the policy, the reading and the rules' decision for it.
/// </summary>
/// <remarks>
/// A check runs when every trigger it gives holds: <see cref="SlmCheckSpec.Text"/> (the reading carries a non-blank
/// value of that text signal) and <see cref="SlmCheckSpec.OnLabels"/> (the decision's label is one of them; with
/// <see cref="SlmCheckSpec.AlertsOnly"/>, the decision raised an alert to one of them). A check with neither runs on
/// every reading. Placeholders in the prompt: <c>{text}</c> the check's text signal value; <c>{label}</c> and
/// <c>{rule}</c> the rules' label and deciding rule (<c>none</c> for the default label); <c>{signals}</c> the reading's
/// number signals as <c>name=value unit</c>, comma-separated; <c>{source}</c> the reading's source; <c>{time}</c> its
/// timestamp (ISO-8601 UTC); <c>{NAME}</c> the value of the signal NAME (<c>(missing)</c> when the reading lacks it).
/// <c>{{</c> and <c>}}</c> are literal braces. Reserved names win over a signal of the same name.
/// </remarks>
public static class SlmTriggers
{
    /// <summary>What a placeholder renders as when the reading does not carry the signal.</summary>
    public const string Missing = "(missing)";

    /// <summary>The checks of <paramref name="policy"/> to run for <paramref name="reading"/>, in policy order, each with
    /// its rendered input.</summary>
    /// <exception cref="ArgumentException">A check's prompt is not a valid template, or names an unknown placeholder
    /// (only possible for checks built in code: <see cref="PolicyLoader"/> rejects them).</exception>
    public static IReadOnlyList<SlmCheckRequest> For(MonitorPolicy policy, Reading reading, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(decision);
        List<SlmCheckRequest>? run = null;
        foreach (var check in policy.SlmChecks)
        {
            if (!Triggered(policy, check, reading, decision)) continue;
            (run ??= []).Add(new SlmCheckRequest(check, Render(policy, check, reading, decision)));
        }

        return (IReadOnlyList<SlmCheckRequest>?)run ?? [];
    }

    /// <summary>True when the check's triggers hold for the reading and its decision (see the remarks on <see cref="SlmTriggers"/>).</summary>
    public static bool Triggered(MonitorPolicy policy, SlmCheckSpec check, Reading reading, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(decision);
        if (check.Text != null && (policy.FindSignal(check.Text) is not { } signal || string.IsNullOrWhiteSpace(TextValue(signal, reading))))
            return false;
        if (check.OnLabels.Count == 0) return true;
        return check.AlertsOnly ? decision.Alert is { } alert && check.OnLabels.Contains(alert.To) : check.OnLabels.Contains(decision.Label);
    }

    /// <summary>The check's prompt with its placeholders filled from the reading and the decision, whether or not the
    /// check's triggers hold.</summary>
    /// <exception cref="ArgumentException">The prompt is not a valid template or names an unknown placeholder.</exception>
    public static string Render(MonitorPolicy policy, SlmCheckSpec check, Reading reading, Decision decision)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(decision);
        var template = SlmPromptTemplate.TryParse(check.Prompt, out int offset, out var error)
            ?? throw new ArgumentException($"slm check '{check.Name}': prompt at offset {offset}: {error}", nameof(check));
        return template.Render(name => name switch
        {
            SlmPromptTemplate.Text => check.Text != null && policy.FindSignal(check.Text) is { } s ? TextValue(s, reading) ?? Missing
                : throw new ArgumentException($"slm check '{check.Name}': prompt uses {{text}} but the check has no text signal", nameof(check)),
            SlmPromptTemplate.Label => decision.Label,
            SlmPromptTemplate.Rule => decision.Rule ?? "none",
            SlmPromptTemplate.Signals => string.Join(", ", policy.Signals
                .Where(s => s.Kind == SignalKind.Number && decision.Inputs.ContainsKey(s.Name))
                .Select(s => $"{s.Name}={Number(decision.Inputs[s.Name])}{(s.Unit.Length > 0 ? " " + s.Unit : "")}")),
            SlmPromptTemplate.Source => reading.Source,
            SlmPromptTemplate.Time => decision.Timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            _ => policy.FindSignal(name) switch
            {
                null => throw new ArgumentException($"slm check '{check.Name}': prompt has an unknown placeholder {{{name}}}", nameof(check)),
                { Kind: SignalKind.Text } s => TextValue(s, reading) ?? Missing,
                var s => decision.Inputs.TryGetValue(s.Name, out var v) ? Number(v) : Missing,
            },
        });
    }

    // A text signal's value in a reading: only from a reading of its source (when it has one), only a JSON string.
    private static string? TextValue(SignalSpec signal, Reading reading)
    {
        if (signal.Source != null && signal.Source != reading.Source) return null;
        return reading.Fields[signal.Field] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    }

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
