using System.CommandLine;
using Hearth.Models.Lora;
using Hearth.Tensors;

namespace Hearth.Cli;

/// <summary><c>hearth export</c>: merge adapters into a model.</summary>
internal static class LoraCommands
{
    internal static Command Export(TextWriter stdout)
    {
        var model = new Argument<string>("base") { Description = "GGUF model file" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var merge = new Option<string[]>("--merge-lora") { Description = "LoRA adapter (GGUF) to merge as FILE[:SCALE]; repeatable", Required = true, Arity = ArgumentArity.OneOrMore };
        var type = new Option<string?>("--type") { Description = "type of the merged weights: f32 or f16 (default: each weight's own type, quantized ones requantized)" };
        var cmd = new Command("export", "Write a model with LoRA adapters merged into its weights.") { model, output, merge, type };
        cmd.SetAction(r =>
        {
            GgmlType? t = r.GetValue(type)?.ToLowerInvariant() switch
            {
                null => null,
                "f32" => GgmlType.F32,
                "f16" => GgmlType.F16,
                var other => throw new ArgumentException($"--type {other}: give f32 or f16"),
            };
            var adapters = (r.GetValue(merge) ?? []).Select(AdapterReference.Parse).ToList();
            var changed = LoraMerger.Merge(r.GetValue(model)!, adapters, r.GetValue(output)!, new LoraMergeOptions { Type = t });
            stdout.WriteLine($"merged {adapters.Count} adapter(s) into {changed.Count} weights: {r.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
