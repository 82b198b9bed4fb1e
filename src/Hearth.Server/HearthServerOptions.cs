using System.Net;

namespace Hearth.Server;

/// <summary>Everything <c>hearth serve</c> can be told. The defaults are the safe ones.</summary>
public sealed record HearthServerOptions
{
    /// <summary>Address to bind; loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="HearthServer.Addresses"/>).</summary>
    public int Port { get; init; } = 11435;

    /// <summary>Key clients must present (Bearer or x-api-key). Required for a non-loopback bind.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Allows a non-loopback bind without a key; must be given explicitly.</summary>
    public bool InsecureNoAuth { get; init; }

    /// <summary>Directory whose GGUF files are served by file name (without .gguf); null uses only the store.</summary>
    public string? ModelsDirectory { get; init; }

    /// <summary>Root of the model store to serve (and pull into); null serves no store. <c>hearth serve</c> uses the default store.</summary>
    public string? StoreDirectory { get; init; }

    /// <summary>
    /// Directory of LoRA adapter files (GGUF) that requests may apply by name (the <c>lora</c> field); null refuses
    /// every request that asks for one. Names never resolve outside it.
    /// </summary>
    public string? LoraDirectory { get; init; }

    /// <summary>Sequences each model decodes together.</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>Requests that may wait per model before new ones get 429.</summary>
    public int MaxQueue { get; init; } = 32;

    /// <summary>Context of every sequence; 0 uses the model's (capped).</summary>
    public int Context { get; init; }

    /// <summary>Largest request body in bytes.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Most prompt tokens a request may have.</summary>
    public int MaxPromptTokens { get; init; } = 32768;

    /// <summary>Most tokens a request may generate (and the default when it names none).</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Origins allowed by CORS; empty (the default) sends no CORS headers at all.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>How long an idle model stays loaded.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bytes loaded models may occupy together; 0 is unlimited.</summary>
    public long MemoryBudget { get; init; }

    /// <summary>Compute threads per model; 0 uses every core.</summary>
    public int Threads { get; init; }

    /// <summary>True when <see cref="Host"/> is a loopback address (or "localhost").</summary>
    public bool IsLoopback =>
        string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));
}
