namespace Hearth;

/// <summary>Base of every error Hearth's library raises on purpose; the message says what is wrong and where.</summary>
public class HearthException : Exception
{
    public HearthException(string message) : base(message) { }

    public HearthException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A model file is not a usable model: an unknown architecture, a missing or misshapen tensor, a bad hyper-parameter.</summary>
public class ModelFormatException : HearthException
{
    public ModelFormatException(string message) : base(message) { }
}
