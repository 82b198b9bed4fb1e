using Hearth.Cli;

namespace Hearth.Tests;

/// <summary><c>hearth serve</c> and <c>hearth ps</c>: what they refuse before anything listens or connects.</summary>
public sealed class CliServeTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    [Fact]
    public void ServeRefusesANonLoopbackBindWithoutAKey()
    {
        var (code, _, err) = Run("serve", "--host", "0.0.0.0", "--port", "0");
        Assert.Equal(1, code);
        Assert.Contains("--api-key", err);
        Assert.Contains("--insecure-no-auth", err);
    }

    [Theory]
    [InlineData("--keep-alive", "soon")]
    [InlineData("--memory-budget", "lots")]
    [InlineData("--models", "/no/such/dir")]
    public void ServeRefusesBadValuesNamingTheOption(string option, string value)
    {
        var (code, _, err) = Run("serve", "--port", "0", option, value);
        Assert.Equal(1, code);
        Assert.Contains(option, err);
    }

    [Fact]
    public void PsSaysWhenNoServerAnswers()
    {
        // Port 1 on loopback: nothing listens there.
        var (code, _, err) = Run("ps", "--port", "1");
        Assert.Equal(1, code);
        Assert.Contains("cannot list the models of http://127.0.0.1:1/", err);
    }
}
