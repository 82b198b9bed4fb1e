using System.CommandLine;
using Hearth.Quantization;

namespace Hearth.Cli;

/// <summary><c>hearth quantize IN.gguf OUT.gguf TYPE</c>: converts a model to another file type, llama-quantize style.</summary>
internal static class QuantizeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var input = new Argument<string>("input") { Description = "GGUF model to convert (F32, F16 or BF16; quantized ones need --allow-requantize)" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Argument<string>("type") { Description = "file type: " + string.Join(", ", QuantizationMix.SupportedFileTypes) };
        var requantize = new Option<bool>("--allow-requantize") { Description = "allow converting tensors that are already quantized (compounds the errors)" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores); the file does not depend on it" };
        var cmd = new Command("quantize", "Convert a model to another file type with llama-quantize's per-tensor type mix.")
        {
            input, output, type, requantize, threads,
        };
        cmd.SetAction((r, cancel) =>
        {
            var fileType = LlamaFileTypes.Parse(r.GetValue(type)!);
            if (!QuantizationMix.IsSupported(fileType))
                throw new ArgumentException($"file type {fileType} cannot be written (Hearth can write: {string.Join(", ", QuantizationMix.SupportedFileTypes)})");
            if (r.GetValue(threads) < 0) throw new ArgumentException("--threads must be 0 (all cores) or more");
            var path = r.GetValue(output)!;
            var options = new ModelQuantizerOptions { FileType = fileType, AllowRequantize = r.GetValue(requantize), Threads = r.GetValue(threads) };
            var result = ModelQuantizer.Quantize(ModelPaths.Resolve(r.GetValue(input)!), path, options, new HearthCommand.PercentProgress(stderr, $"writing {path}"), cancel);
            stdout.WriteLine(result.Summary(path, new FileInfo(path).Length));
            return Task.FromResult(0);
        });
        return cmd;
    }
}
