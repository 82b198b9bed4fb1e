using System.CommandLine;
using Hearth.Server;
using Hearth.Serving;
using Microsoft.AspNetCore.Builder;

namespace Hearth.Cli;

/// <summary><c>hearth serve</c> (the HTTP server) and <c>hearth ps</c> (the models a running server has loaded).</summary>
internal static class ServeCommand
{
    /// <summary>Adds <c>serve</c> and <c>ps</c> to the root command.</summary>
    public static void AddTo(RootCommand root, TextWriter stdout, TextWriter stderr)
    {
        root.Subcommands.Add(Create(stdout, stderr));
        root.Subcommands.Add(CreatePs(stdout, stderr));
    }

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var defaults = new HearthServerOptions();
        var host = new Option<string>("--host") { Description = "address to listen on (anything but loopback needs --api-key or --insecure-no-auth)", DefaultValueFactory = _ => defaults.Host };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one)", DefaultValueFactory = _ => defaults.Port };
        var loraDir = new Option<string?>("--lora-dir") { Description = "a directory of LoRA adapter files (GGUF) that requests may apply by name (the lora field)" };
        var models = new Option<string?>("--models") { Description = "a directory whose *.gguf files are served by file name, besides the store's models" };
        var apiKey = new Option<string?>("--api-key") { Description = "key clients must send (Authorization: Bearer KEY or x-api-key); default $HEARTH_API_KEY" };
        var insecure = new Option<bool>("--insecure-no-auth") { Description = "allow a non-loopback bind without a key (anyone who can reach it can use it)" };
        var parallel = new Option<int>("--parallel") { Description = "sequences each model decodes together", DefaultValueFactory = _ => defaults.Parallel };
        var ctx = new Option<int>("--ctx") { Description = "context of every sequence (0 = the model's)" };
        var keepAlive = new Option<string>("--keep-alive") { Description = "how long an idle model stays loaded (5m, 1h, -1 = forever)", DefaultValueFactory = _ => "5m" };
        var memory = new Option<string?>("--memory-budget") { Description = "memory loaded models may use together, such as 8GB (default: unlimited)" };
        var cors = new Option<string[]>("--cors-origin") { Description = "an origin browsers may call from (repeat for several); default: none", Arity = ArgumentArity.ZeroOrMore };
        var threads = new Option<int>("--threads", "-t") { Description = "compute threads per model (0 = all cores)" };
        var cmd = new Command("serve", "Serve the store's models (and --models DIR) over HTTP, OpenAI- and Ollama-compatible, until Ctrl+C.")
        {
            host, port, models, loraDir, apiKey, insecure, parallel, ctx, keepAlive, memory, cors, threads,
        };
        cmd.SetAction(async (r, cancel) =>
        {
            var key = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("HEARTH_API_KEY");
            var options = new HearthServerOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ModelsDirectory = r.GetValue(models),
                LoraDirectory = r.GetValue(loraDir) is { } lora ? new Hearth.Models.Lora.AdapterDirectory(lora).Path : null,
                StoreDirectory = Hearth.Store.ModelStore.DefaultRoot(),
                ApiKey = string.IsNullOrEmpty(key) ? null : key,
                InsecureNoAuth = r.GetValue(insecure),
                Parallel = r.GetValue(parallel),
                Context = r.GetValue(ctx),
                KeepAlive = Parse("--keep-alive", r.GetValue(keepAlive)!, Durations.Parse),
                MemoryBudget = r.GetValue(memory) is { } m ? Parse("--memory-budget", m, Hearth.Planning.MemorySize.Parse) : 0,
                CorsOrigins = r.GetValue(cors) ?? [],
                Threads = r.GetValue(threads),
            };
            await using var app = HearthServer.Build(options);
            await app.StartAsync(cancel);
            foreach (var url in HearthServer.Addresses(app)) stdout.WriteLine($"Hearth is listening on {url}");
            if (options.ApiKey == null && !options.IsLoopback) stderr.WriteLine("warning: --insecure-no-auth: anyone who can reach this address can use the server");
            stdout.Flush();
            // Ctrl+C and SIGTERM reach the host's console lifetime (which stops the application) or the command line's
            // token, depending on who registered first; either ends the wait.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, app.Lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return cmd;
    }

    public static Command CreatePs(TextWriter stdout, TextWriter stderr)
    {
        var host = new Option<string>("--host") { Description = "address of the server", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port of the server", DefaultValueFactory = _ => new HearthServerOptions().Port };
        var apiKey = new Option<string?>("--api-key") { Description = "the server's key (default $HEARTH_API_KEY)" };
        var cmd = new Command("ps", "List the models a running server has loaded.") { host, port, apiKey };
        cmd.SetAction(async (r, cancel) =>
        {
            var key = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("HEARTH_API_KEY");
            var address = ServerClient.BaseAddress(r.GetValue(host)!, r.GetValue(port));
            try
            {
                var running = await ServerClient.RunningModelsAsync(address, key, cancel);
                stdout.Write(ServerClient.FormatTable(running, DateTimeOffset.UtcNow));
                return 0;
            }
            catch (HttpRequestException e)
            {
                stderr.WriteLine($"error: cannot list the models of {address}: {e.Message}");
                return 1;
            }
            catch (InvalidDataException e)
            {
                stderr.WriteLine($"error: {address} gave an unexpected answer: {e.Message}");
                return 1;
            }
        });
        return cmd;
    }

    private static T Parse<T>(string option, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ArgumentException($"{option}: {e.Message}");
        }
    }
}
