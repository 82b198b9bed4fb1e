using Hearth.Gguf;
using Hearth.Models;
using Hearth.Tests;

namespace Hearth.Sensors.Tests;

/// <summary>
/// What the SLM classifier tests on the real trained model stories260K.gguf share: its path, a load of it to compute
/// expected answers independently, the documented raw prompt format, a chat variant of the model, a test double of the
/// clock, and temporary files deleted afterwards.
/// </summary>
public abstract class StoriesSlmTest : IDisposable
{
    protected static readonly string s_model = TestData.Path("models", "stories260K.gguf");

    /// <summary>A load of the model of its own, for reference computations.</summary>
    protected LanguageModel Reference { get; } = LanguageModel.Load(s_model);

    /// <summary>Files deleted when the test ends.</summary>
    protected List<string> Temp { get; } = [];

    public void Dispose()
    {
        Reference.Dispose();
        foreach (var path in Temp) File.Delete(path);
        GC.SuppressFinalize(this);
    }

    /// <summary>The prompt a base model gets, written out here from the documented format rather than taken from the code.</summary>
    protected static string RawPrompt(string input, IEnumerable<string> labels) =>
        input.TrimEnd() + "\n\nAnswer with exactly one of these labels: " + string.Join(" / ", labels) + ".\nAnswer:";

    /// <summary>Writes a copy of <paramref name="model"/> that ships Qwen2.5's chat template (so checks on it go through the
    /// template) at a new temporary path.</summary>
    protected string WithQwenTemplate(string model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hearth-slm-chat-{Guid.NewGuid():N}.gguf");
        Temp.Add(path);
        using var src = GgufFile.Open(model);
        var w = new GgufWriter().CopyMetadata(src).Set("tokenizer.chat_template", File.ReadAllText(TestData.Path("templates", "Qwen-Qwen2.5-7B-Instruct.jinja")));
        foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Shape, t.Type, src.TensorData(t).ToArray());
        w.Write(path);
        return path;
    }

    /// <summary>A test double of the clock: each timestamp read is <c>step</c> after the previous one; timers never fire.</summary>
    protected sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new InertTimer();

        private sealed class InertTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose() { }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
