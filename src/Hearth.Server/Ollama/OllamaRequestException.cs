namespace Hearth.Server.Ollama;

/// <summary>A request the Ollama API refuses; <see cref="Status"/> is the HTTP status and the message names the problem.</summary>
internal sealed class OllamaRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;

    public static OllamaRequestException BadRequest(string message) => new(400, message);
}
