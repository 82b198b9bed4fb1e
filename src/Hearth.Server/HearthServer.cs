using Hearth.Serving;
using Microsoft.AspNetCore.Builder;

namespace Hearth.Server;

/// <summary>The HTTP server: builds the ASP.NET Core application with its routes. No model logic lives here.</summary>
public static class HearthServer
{
    /// <summary>
    /// Builds (does not start) the server. <paramref name="host"/> supplies the models; by default one is made from the
    /// options (the models directory and the store).
    /// </summary>
    /// <exception cref="ServerConfigurationException">The options are unsafe or invalid (such as a non-loopback bind without a key).</exception>
    public static WebApplication Build(HearthServerOptions options, ModelHost? host = null)
    {
        throw new NotImplementedException();
    }

    /// <summary>The addresses a started server listens on.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) => app.Urls.ToList();
}

/// <summary>The server's options are unsafe or invalid; the message says which and how to fix it.</summary>
public sealed class ServerConfigurationException(string message) : HearthException(message);
