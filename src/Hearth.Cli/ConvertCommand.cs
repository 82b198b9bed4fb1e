using System.CommandLine;
using Hearth.Conversion;

namespace Hearth.Cli;

/// <summary><c>hearth convert</c>: turns a Hugging Face model directory into a GGUF file. The library does the work.</summary>
internal static class ConvertCommand
{
    internal static Command Create(TextWriter stdout)
    {
        var input = new Argument<string>("hf-dir") { Description = "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Option<string>("--type") { Description = "type of the 2-D weights: F16, BF16, Q8_0 or F32 (norms stay F32)", DefaultValueFactory = _ => "F16" };
        var lora = new Option<bool>("--lora") { Description = "the directory is a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors): write a GGUF adapter for --base" };
        var baseModel = new Option<string?>("--base") { Description = "with --lora: the GGUF model the adapter is for" };
        var cmd = new Command("convert", "Convert a Hugging Face model (Llama, SmolLM, Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3) or a PEFT LoRA adapter to GGUF.") { input, output, type, lora, baseModel };
        cmd.SetAction(r =>
        {
            if (r.GetValue(lora))
            {
                var baseFile = r.GetValue(baseModel) ?? throw new ArgumentException("--lora needs --base BASE.gguf, the model the adapter is for");
                int pairs = Hearth.Models.Lora.PeftConverter.Convert(r.GetValue(input)!, ModelPaths.Resolve(baseFile), r.GetValue(output)!);
                stdout.WriteLine($"wrote {pairs} adapter pairs: {r.GetValue(output)}");
                return 0;
            }

            if (r.GetValue(baseModel) != null) throw new ArgumentException("--base is only for --lora");
            string typeText = r.GetValue(type)!;
            if (!Enum.TryParse<ConversionType>(typeText, ignoreCase: true, out var t) || !Enum.IsDefined(t) || int.TryParse(typeText, out _))
                throw new ArgumentException($"--type '{typeText}' is not one of F16, BF16, Q8_0, F32");
            var result = ModelConverter.Convert(r.GetValue(input)!, r.GetValue(output)!, t);
            stdout.WriteLine($"{result.SourceArchitecture} -> {result.Architecture}: {result.Tensors.Count} tensors, {result.FileBytes} bytes written to {r.GetValue(output)}");
            return 0;
        });
        return cmd;
    }
}
