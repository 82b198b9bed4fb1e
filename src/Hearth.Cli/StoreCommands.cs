using System.CommandLine;
using System.Globalization;
using Hearth.Store;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth pull | list | show | rm</c>: the local model store (<c>$HEARTH_HOME</c>, default <c>~/.hearth</c>) and
/// downloads from the Hugging Face Hub (<c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>).
/// </summary>
internal static class StoreCommands
{
    public static Command Pull(TextWriter stdout, TextWriter stderr)
    {
        var name = new Argument<string>("name")
        {
            Description = "hf:OWNER/REPO/FILE.gguf, hf:OWNER/REPO:QUANT, or a short name: " + string.Join(", ", ModelCatalog.Default.Entries.Select(e => e.Name)),
        };
        var endpoint = new Option<string?>("--endpoint") { Description = "Hub address (default: $HF_ENDPOINT or https://huggingface.co)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress bar" };
        var cmd = new Command("pull", "Download a model into the local store (resumes an interrupted download).") { name, endpoint, quiet };
        cmd.SetAction(async (r, cancel) =>
        {
            var store = ModelStore.FromEnvironment();
            var options = HubOptions.FromEnvironment();
            if (r.GetValue(endpoint) is { } e) options = options with { Endpoint = HubOptions.ParseEndpoint(e, "--endpoint") };
            using var http = new HttpClient();
            var progress = r.GetValue(quiet) ? null : new ProgressBar(stderr);
            var model = await store.PullAsync(r.GetValue(name)!, new HubClient(http, options), progress, cancel);
            stdout.WriteLine($"{model.Name}: {model.Source} ({FormatSize(model.Size)}, sha256 {model.Sha256}{(model.Verified ? ", verified" : "")})");
            return 0;
        });
        return cmd;
    }

    public static Command List(TextWriter stdout)
    {
        var cmd = new Command("list", "List the models in the local store.");
        cmd.Aliases.Add("ls");
        cmd.SetAction(_ =>
        {
            var models = ModelStore.FromEnvironment().List();
            var rows = models.Select(m => new[]
            {
                m.Name, FormatSize(m.Size), m.FileType ?? "-", m.Architecture ?? "-",
                m.PulledAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            }).Prepend(["NAME", "SIZE", "QUANT", "ARCH", "MODIFIED"]).ToList();
            var widths = Enumerable.Range(0, 5).Select(i => rows.Max(row => row[i].Length)).ToArray();
            foreach (var row in rows) stdout.WriteLine(string.Join("  ", row.Select((cell, i) => i == 4 ? cell : cell.PadRight(widths[i]))));
            return 0;
        });
        return cmd;
    }

    public static Command Show(TextWriter stdout)
    {
        var name = new Argument<string>("name") { Description = "model name in the store" };
        var cmd = new Command("show", "Describe a model in the local store.") { name };
        cmd.SetAction(r =>
        {
            var d = ModelStore.FromEnvironment().Show(r.GetValue(name)!);
            var m = d.Model;
            stdout.WriteLine($"name:          {m.Name}");
            if (d.DisplayName != null) stdout.WriteLine($"model:         {d.DisplayName}");
            stdout.WriteLine($"architecture:  {d.Architecture ?? "-"}");
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters:    {FormatCount(d.ParameterCount)} ({d.ParameterCount})"));
            stdout.WriteLine($"quantization:  {d.FileType ?? "-"}");
            stdout.WriteLine($"context:       {(d.ContextLength is { } c ? c.ToString(CultureInfo.InvariantCulture) : "-")}");
            stdout.WriteLine($"chat template: {(d.HasChatTemplate ? "yes" : "no")}");
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tensors:       {d.TensorCount} (GGUF v{d.GgufVersion})"));
            stdout.WriteLine($"size:          {FormatSize(m.Size)} ({m.Size.ToString(CultureInfo.InvariantCulture)} bytes)");
            stdout.WriteLine($"source:        {m.Source}");
            stdout.WriteLine($"sha256:        {m.Sha256}{(m.Verified ? " (verified)" : "")}");
            stdout.WriteLine($"pulled:        {m.PulledAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}");
            stdout.WriteLine($"file:          {m.Path}");
            return 0;
        });
        return cmd;
    }

    public static Command Remove(TextWriter stdout)
    {
        var names = new Argument<string[]>("name") { Description = "model names in the store", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("rm", "Delete models from the local store.") { names };
        cmd.SetAction(r =>
        {
            var store = ModelStore.FromEnvironment();
            foreach (var n in r.GetValue(names)!)
            {
                var removed = store.Remove(n);
                stdout.WriteLine($"deleted {removed.Name}");
            }

            return 0;
        });
        return cmd;
    }

    internal static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    private static string FormatCount(long n) => n switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:F2}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:F1}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:F1}K"),
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Draws <c>pulling NAME [#####.....]  42%  12.0/28.5 MiB</c> on one line of stderr, redrawn when the whole
    /// percent changes (or every MiB when the size is unknown); retries and verification get their own lines.
    /// </summary>
    private sealed class ProgressBar(TextWriter writer) : IProgress<PullProgress>
    {
        private const int Width = 30;
        private long _lastKey = -1;
        private bool _onBar;

        public void Report(PullProgress value)
        {
            switch (value.Stage)
            {
                case PullStage.Downloading:
                    long key = value.Fraction is { } f ? (long)(f * 100) : value.BytesDone >> 20;
                    if (key == _lastKey) return;
                    _lastKey = key;
                    string bar = value.Fraction is { } fr
                        ? string.Create(CultureInfo.InvariantCulture, $"[{new string('#', (int)(fr * Width)).PadRight(Width, '.')}] {fr * 100,3:F0}%  {FormatSize(value.BytesDone)}/{FormatSize(value.TotalBytes!.Value)}")
                        : FormatSize(value.BytesDone);
                    writer.Write($"\rpulling {value.Name} {bar}   ");
                    _onBar = true;
                    break;
                case PullStage.Retrying:
                    EndBar();
                    writer.WriteLine($"retrying {value.Name}: {value.Message}");
                    _lastKey = -1;
                    break;
                case PullStage.Verifying:
                    EndBar();
                    writer.WriteLine($"verifying {value.File}");
                    break;
                case PullStage.UpToDate:
                    writer.WriteLine($"{value.Name} is up to date");
                    break;
                case PullStage.Resolving:
                    writer.WriteLine($"resolving {value.Name}");
                    break;
            }

            writer.Flush();
        }

        private void EndBar()
        {
            if (_onBar) writer.WriteLine();
            _onBar = false;
        }
    }
}
