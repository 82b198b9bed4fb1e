using System.Diagnostics;
using System.Text;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Store;

namespace Hearth.Sensors.Slm;

/// <summary>How an <see cref="EngineSlmClassifier"/> loads and runs models.</summary>
public sealed record EngineSlmOptions
{
    /// <summary>Worker threads per loaded model for matrix products; 0 uses every core.</summary>
    public int Threads { get; init; }

    /// <summary>The context (in tokens) models are loaded with and each check's sequence gets: a check's prompt, label and
    /// explanation must fit in it, or the check fails safe.</summary>
    public int Context { get; init; } = 2048;

    /// <summary>Maps a check's <see cref="SlmCheckSpec.Model"/> to a GGUF path. Null: an existing file as is, otherwise a
    /// name in Hearth's model store (<see cref="ModelStore.FromEnvironment"/>, <c>HEARTH_HOME</c> or <c>~/.hearth</c>).</summary>
    public Func<string, string>? ResolveModel { get; init; }

    /// <summary>The clock latency budgets run on and latencies are measured with.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// Prompt caching: how many saved prompt prefixes (a check's constant part, see <see cref="EngineSlmClassifier"/>) each
    /// loaded model keeps; saving one more drops the least recently used. Each costs its tokens × layers × (key width +
    /// value width) × 4 bytes: 24 KiB a token for Qwen2.5-0.5B (24 layers, 2 KV heads of 64), so a 60-token system part
    /// and instruction head is about 1.4 MiB, and 8 prefixes of the whole 2048-token context would be 384 MiB. 0 turns
    /// prompt caching off: every check then processes its whole prompt, and its explanation the whole prompt again.
    /// </summary>
    public int CachedPrefixes { get; init; } = 8;
}

/// <summary>Prompt-caching figures of one model.</summary>
/// <param name="PromptTokens">Prompt tokens of every label and explanation pass so far (reused ones included).</param>
/// <param name="ReusedTokens">Those whose keys and values came from the cache instead of being processed.</param>
/// <param name="Prefixes">Saved prefixes held now.</param>
/// <param name="PrefixBytes">Bytes they take.</param>
public sealed record SlmPromptCacheStats(long PromptTokens, long ReusedTokens, int Prefixes, long PrefixBytes);

/// <summary>Latency statistics of one check.</summary>
/// <param name="Checks">Checks run (fail-safe ones included).</param>
/// <param name="TimedOut">Checks that used their fail-safe label.</param>
/// <param name="P50">Median latency (nearest rank, within 1/16: kept in a fixed-size histogram).</param>
/// <param name="P99">99th-percentile latency (nearest rank, within 1/16).</param>
public sealed record SlmCheckLatency(long Checks, long TimedOut, TimeSpan P50, TimeSpan P99);

/// <summary>
/// Runs small-language-model checks on Hearth's own engine. Each model is loaded once, on first use or by
/// <see cref="Load"/>, and shared by every check that names it.
/// </summary>
/// <remarks>
/// <para>A check: the prompt (<see cref="SlmPrompt"/>: through the model's chat template when it ships one, raw otherwise)
/// is decoded greedily under a grammar whose only sentences are the check's labels, so the answer is always exactly one
/// label (labels with spaces, shared prefixes, several tokens or non-ASCII text included). Decoding stops as soon as only
/// one label can still be reached: the grammar forces the rest, so <see cref="SlmCheckResult.ModelOutput"/> holds the
/// label's whole text (after a space for base models) without spending a forward pass per forced token. When the check
/// asks for an explanation, a second greedy pass writes at most <see cref="SlmCheckSpec.ExplainMaxTokens"/> tokens of it
/// (ModelOutput is then the label text, a line end, and the explanation as generated).</para>
/// <para>Budget: the whole check — waiting for the model, loading it if needed, the label and the explanation — has
/// <see cref="SlmCheckSpec.LatencyBudgetMs"/>. When the budget runs out before the label is decided (a forward pass that
/// overruns is not waited for), or the model fails (it cannot be loaded, the prompt does not fit the context, ...), the
/// result is <see cref="SlmCheckSpec.OnTimeout"/> with <see cref="SlmCheckResult.TimedOut"/> set. A label decided after the
/// budget ran out counts as timed out too. When the budget runs out during the explanation, the label stands and the
/// explanation is null. Work left behind by a timed-out check stops at its next token and then frees the model.</para>
/// <para>Concurrency: calls may come from any thread at once. Checks on the same model are serialised (one sequence state
/// per model; a queued check's wait counts against its budget); checks on different models run in parallel.</para>
/// <para>Prompt caching (unless <see cref="EngineSlmOptions.CachedPrefixes"/> is 0): a pass processes only the tokens after
/// the longest common prefix of its prompt and what is already computed, token ids compared. Two sources are tried: the
/// model's sequence state, which still holds the previous pass (so the explanation continues from the label's state, and a
/// check that runs again reuses all it shares with its last prompt), and the saved prefixes: after a check's label pass,
/// the keys and values of its constant part (the chat template's text and the check's prompt text before its first
/// placeholder, as far as the tokens agree with the prompt's) are saved unless a saved prefix already covers them, so
/// checks that alternate on one model each start from their own. Results are identical to the uncached path: a position's
/// keys and values depend only on the tokens up to it, and the engine computes each row alike whatever the batch.</para>
/// </remarks>
public sealed class EngineSlmClassifier : ISlmClassifier, IDisposable
{
    private readonly EngineSlmOptions _options;
    private readonly Dictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CheckStats> _stats = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <exception cref="ArgumentOutOfRangeException">Negative threads or cached prefixes, or a context under 16 tokens.</exception>
    public EngineSlmClassifier(EngineSlmOptions? options = null)
    {
        _options = options ?? new EngineSlmOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(_options.Threads, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Context, 16, nameof(options));
        ArgumentNullException.ThrowIfNull(_options.Time, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(_options.CachedPrefixes, nameof(options));
    }

    /// <summary>Loads a model now (and its grammar vocabulary), so the first check on it does not spend its budget loading.
    /// Loading a model that is already loaded does nothing.</summary>
    /// <exception cref="FileNotFoundException">The name is neither a file nor a model in the store.</exception>
    /// <exception cref="HearthException">The file is not a usable model, or its chat template is unsupported.</exception>
    public void Load(string model)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        var slot = Slot(model);
        slot.Gate.Wait();
        try
        {
            slot.Loaded(_options);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    /// <exception cref="ObjectDisposedException">The classifier was disposed.</exception>
    public async Task<SlmCheckResult> ClassifyAsync(SlmCheckSpec check, string input, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(input);
        cancel.ThrowIfCancellationRequested();
        var time = _options.Time;
        long start = time.GetTimestamp();
        var budget = TimeSpan.FromMilliseconds(check.LatencyBudgetMs);
        var slot = Slot(check.Model);
        var budgetSource = new CancellationTokenSource(budget, time);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, budgetSource.Token);
        var token = linked.Token;
        var run = new CheckRun(check, input, _options, start, budget, token);
        var work = RunAsync(slot, run);
        // The work may outlive this call (a forward pass that overran the budget): the token sources live until it ends.
        _ = work.ContinueWith(t =>
        {
            _ = t.Exception; // observed: a check that failed safe is not an unobserved task exception
            linked.Dispose();
            budgetSource.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        SlmCheckResult result;
        try
        {
            var (label, output) = await run.Label.Task.WaitAsync(token).ConfigureAwait(false);
            string? explanation = null;
            if (check.Explain)
            {
                try
                {
                    (explanation, output) = await work.WaitAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    // No time left for the explanation: the label stands.
                }
            }

            result = new SlmCheckResult(label, explanation, output, time.GetElapsedTime(start), TimedOut: false);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            // The budget ran out, or the model failed: the fail-safe label, never the exception.
            result = new SlmCheckResult(check.OnTimeout, null, "", time.GetElapsedTime(start), TimedOut: true);
        }

        Record(check.Name, result);
        return result;
    }

    /// <summary>Latency statistics per check name, ordered by name.</summary>
    public IReadOnlyDictionary<string, SlmCheckLatency> Latencies()
    {
        lock (_stats)
        {
            return _stats.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(
                p => p.Key, p => new SlmCheckLatency(p.Value.Checks, p.Value.TimedOut, p.Value.Histogram.Percentile(0.50), p.Value.Histogram.Percentile(0.99)));
        }
    }

    /// <summary>Prompt-caching figures per model name (as checks give it), ordered by name.</summary>
    public IReadOnlyDictionary<string, SlmPromptCacheStats> PromptCache()
    {
        lock (_slots)
        {
            return _slots.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value.CacheStats());
        }
    }

    /// <summary>Waits for work in progress on each model to stop, then releases the models. Checks after this throw
    /// <see cref="ObjectDisposedException"/>; checks already waiting for a model fail safe.</summary>
    public void Dispose()
    {
        List<ModelSlot> slots;
        lock (_slots)
        {
            if (_disposed) return;
            _disposed = true;
            slots = _slots.Values.ToList();
        }

        foreach (var slot in slots)
        {
            slot.Gate.Wait();
            slot.Dispose();
            slot.Gate.Release();
        }
    }

    private ModelSlot Slot(string model)
    {
        lock (_slots)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_slots.TryGetValue(model, out var slot)) _slots[model] = slot = new ModelSlot(model);
            return slot;
        }
    }

    private void Record(string check, SlmCheckResult result)
    {
        lock (_stats)
        {
            if (!_stats.TryGetValue(check, out var s)) _stats[check] = s = new CheckStats();
            s.Checks++;
            if (result.TimedOut) s.TimedOut++;
            s.Histogram.Add((long)(result.Latency.TotalSeconds * Stopwatch.Frequency));
        }
    }

    private static async Task<(string? Explanation, string Output)> RunAsync(ModelSlot slot, CheckRun run)
    {
        try
        {
            await slot.Gate.WaitAsync(run.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            run.Label.TrySetException(e);
            throw;
        }

        try
        {
            return await Task.Run(() => Run(slot, run), CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    // Runs on a pool thread while holding the model: decides the label (publishing it at once), then the explanation.
    private static (string? Explanation, string Output) Run(ModelSlot slot, CheckRun run)
    {
        SlmPrompt prompt;
        TextGenerator generator;
        LanguageModel model;
        ChatTemplate? template;
        int[] promptTokens;
        string labelOutput;
        try
        {
            (model, generator, template) = slot.Loaded(run.Options);
            run.ThrowIfExpired();
            prompt = SlmPrompt.For(template, run.Check, run.Input);
            promptTokens = prompt.LabelTokens(model);
            var options = new GenerationOptions
            {
                MaxTokens = prompt.Choices.Choices.Max(c => Encoding.UTF8.GetByteCount(c)) + 1,
                Sampling = SamplerOptions.Greedy,
                Constraint = new GrammarConstraint(prompt.Choices.Grammar, model.TokenVocabulary),
            };
            var text = new StringBuilder();
            string? determined = null;
            foreach (var token in slot.Generate(promptTokens, options, run.Token))
            {
                text.Append(token.Text);
                run.ThrowIfExpired();
                // Once one label is left the grammar allows nothing but the rest of it: no need to decode it token by token.
                if ((determined = prompt.Determined(text.ToString())) != null) break;
            }

            labelOutput = determined ?? text.ToString();
            int index = prompt.Choices.IndexOf(labelOutput);
            if (index < 0 || (determined == null && generator.Stats.FinishReason == FinishReason.Cancelled))
                throw new InvalidOperationException($"the constrained output '{labelOutput}' ended ({generator.Stats.FinishReason}) without a whole label");
            run.ThrowIfExpired();
            run.Label.TrySetResult((run.Check.Labels[index], labelOutput));
        }
        catch (Exception e)
        {
            run.Label.TrySetException(e);
            return (null, "");
        }

        // After the label is out: the next check that starts like this one finds its constant part computed.
        slot.SavePrefix(promptTokens, SlmPrompt.ForHead(template, run.Check).LabelTokens(model));
        if (!run.Check.Explain) return (null, labelOutput);
        try
        {
            var options = new GenerationOptions
            {
                MaxTokens = run.Check.ExplainMaxTokens,
                Sampling = SamplerOptions.Greedy,
                Stop = prompt.ExplanationStop,
            };
            var text = new StringBuilder();
            foreach (var token in slot.Generate(prompt.Encode(model, prompt.ExplanationPrompt(labelOutput)), options, run.Token))
            {
                text.Append(token.Text);
                run.ThrowIfExpired();
            }

            run.ThrowIfExpired();
            var raw = text.ToString();
            return (raw.Trim(), labelOutput + "\n" + raw);
        }
        catch (Exception)
        {
            // A failed or late explanation leaves the label as it is.
            return (null, labelOutput);
        }
    }

    /// <summary>One check in flight: what it runs, its clock and budget, and where its label is published.</summary>
    private sealed class CheckRun(SlmCheckSpec check, string input, EngineSlmOptions options, long start, TimeSpan budget, CancellationToken token)
    {
        public SlmCheckSpec Check { get; } = check;
        public string Input { get; } = input;
        public EngineSlmOptions Options { get; } = options;
        public CancellationToken Token { get; } = token;

        public TaskCompletionSource<(string Label, string Output)> Label { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <exception cref="TimeoutException">The budget has run out (or the caller cancelled).</exception>
        public void ThrowIfExpired()
        {
            if (Token.IsCancellationRequested || Options.Time.GetElapsedTime(start) > budget)
                throw new TimeoutException($"check '{Check.Name}' ran past its budget of {budget.TotalMilliseconds} ms");
        }
    }

    private sealed class CheckStats
    {
        public long Checks;
        public long TimedOut;
        public LatencyHistogram Histogram { get; } = new();
    }

    /// <summary>One model: loaded once, with the one sequence state its checks take turns on and its saved prefixes.</summary>
    private sealed class ModelSlot(string name) : IDisposable
    {
        private readonly Lock _statsLock = new();
        private LanguageModel? _model;
        private TextGenerator? _generator;
        private ChatTemplate? _template;
        private SlmPrefixCache? _prefixes;
        private long _promptTokens;
        private long _reusedTokens;
        private int _prefixCount;
        private long _prefixBytes;
        private bool _disposed;

        /// <summary>Held by whoever uses the model or its state.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The model, loading it first if needed. Call only while holding <see cref="Gate"/>.</summary>
        public (LanguageModel Model, TextGenerator Generator, ChatTemplate? Template) Loaded(EngineSlmOptions options)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_model != null) return (_model, _generator!, _template);
            var path = options.ResolveModel?.Invoke(name) ?? Resolve(name);
            var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = options.Threads, Context = options.Context });
            try
            {
                var template = SlmPrompt.TemplateOf(model);
                _ = model.TokenVocabulary; // built here, not inside the first check's budget
                _generator = new TextGenerator(model, options.Context) { ReusePrefix = options.CachedPrefixes > 0 };
                _prefixes = options.CachedPrefixes > 0 ? new SlmPrefixCache(options.CachedPrefixes) : null;
                _template = template;
                _model = model;
                return (model, _generator, template);
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Streams a pass over <paramref name="prompt"/> on the loaded model. With prompt caching, the saved prefix that
        /// shares the most leading tokens with the prompt is brought into the state first when it shares more than the state
        /// already does. Call only while holding <see cref="Gate"/>.
        /// </summary>
        public IEnumerable<SampledToken> Generate(int[] prompt, GenerationOptions options, CancellationToken cancel)
        {
            var generator = _generator!;
            if (_prefixes != null)
            {
                var (prefix, length) = _prefixes.Longest(prompt);
                if (prefix != null && length > generator.CachedPrefixLength(prompt)) generator.LoadPrefix(prefix, length);
            }

            var before = generator.Stats;
            try
            {
                foreach (var token in generator.GenerateTokens(prompt, options, cancellation: cancel)) yield return token;
            }
            finally
            {
                // A new Stats object means the pass got as far as processing its prompt.
                if (!ReferenceEquals(before, generator.Stats))
                {
                    lock (_statsLock)
                    {
                        _promptTokens += generator.Stats.PromptTokens;
                        _reusedTokens += generator.Stats.ReusedPromptTokens;
                    }
                }
            }
        }

        /// <summary>
        /// Saves the keys and values of the part of <paramref name="prompt"/> a check's prompts share (its common token
        /// prefix with <paramref name="head"/>, the check's constant part) unless a saved prefix covers it already. Does
        /// nothing without prompt caching, or when the state no longer starts with that part. Call only while holding
        /// <see cref="Gate"/>.
        /// </summary>
        public void SavePrefix(ReadOnlySpan<int> prompt, ReadOnlySpan<int> head)
        {
            if (_prefixes == null || _generator == null) return;
            var shared = prompt[..prompt.CommonPrefixLength(head)];
            if (shared.IsEmpty || _prefixes.Covers(shared) || _generator.CachedPrefixLength(shared) < shared.Length) return;
            _prefixes.Add(_generator.SavePrefix(shared.Length));
            lock (_statsLock) (_prefixCount, _prefixBytes) = (_prefixes.Count, _prefixes.Bytes);
        }

        public SlmPromptCacheStats CacheStats()
        {
            lock (_statsLock) return new SlmPromptCacheStats(_promptTokens, _reusedTokens, _prefixCount, _prefixBytes);
        }

        public void Dispose()
        {
            _disposed = true;
            _model?.Dispose();
            _model = null;
            _generator = null;
            _prefixes?.Clear();
            _prefixes = null;
            lock (_statsLock) (_prefixCount, _prefixBytes) = (0, 0);
        }

        private static string Resolve(string model)
        {
            if (File.Exists(model)) return model;
            try
            {
                return ModelStore.FromEnvironment().Resolve(model);
            }
            catch (ModelStoreException e)
            {
                throw new FileNotFoundException($"slm model '{model}' is neither a file nor a model in the store: {e.Message}", model, e);
            }
        }
    }
}
