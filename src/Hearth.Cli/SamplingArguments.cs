using System.CommandLine;
using Hearth.Models.Lora;
using Hearth.Sampling;

namespace Hearth.Cli;

/// <summary>The sampler flags shared by <c>run</c> and <c>chat</c>.</summary>
internal sealed class SamplingArguments
{
    private static readonly SamplerOptions s_defaults = new();

    public Option<float> Temperature { get; } = new("--temp") { Description = "temperature; 0 is greedy", DefaultValueFactory = _ => s_defaults.Temperature };
    public Option<int> TopK { get; } = new("--top-k") { Description = "keep the k most likely tokens (0 = all)", DefaultValueFactory = _ => s_defaults.TopK };
    public Option<float> TopP { get; } = new("--top-p") { Description = "nucleus sampling threshold (1 = off)", DefaultValueFactory = _ => s_defaults.TopP };
    public Option<float> MinP { get; } = new("--min-p") { Description = "drop tokens below min-p × the best (0 = off)", DefaultValueFactory = _ => s_defaults.MinP };
    public Option<float> RepeatPenalty { get; } = new("--repeat-penalty") { Description = "penalty for recent tokens (1 = off)", DefaultValueFactory = _ => s_defaults.RepeatPenalty };
    public Option<ulong?> Seed { get; } = new("--seed") { Description = "random seed; the same seed gives the same text" };
    public Option<int> Context { get; } = new("--ctx", "-c") { Description = "context size in tokens (0 = the model's, at most 4096)" };
    public Option<int> Threads { get; } = new("--threads", "-t") { Description = "threads (0 = all cores)" };
    public Option<string[]> Lora { get; } = new("--lora") { Description = "apply a LoRA adapter (GGUF) as FILE[:SCALE], scale 1 by default; repeatable" };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Temperature, TopK, TopP, MinP, RepeatPenalty, Seed, Context, Threads, Lora }) command.Options.Add(o);
    }

    /// <summary>The <c>--lora FILE[:SCALE]</c> adapters, in order.</summary>
    public IReadOnlyList<AdapterReference> ReadAdapters(ParseResult r) => [.. (r.GetValue(Lora) ?? []).Select(AdapterReference.Parse)];

    public SamplerOptions Read(ParseResult r) => new()
    {
        Temperature = r.GetValue(Temperature),
        TopK = r.GetValue(TopK),
        TopP = r.GetValue(TopP),
        MinP = r.GetValue(MinP),
        RepeatPenalty = r.GetValue(RepeatPenalty),
        Seed = r.GetValue(Seed),
    };
}
