namespace Hearth.Agents.Tests;

public class AgentCommandTests
{
    [Fact]
    public void TheCliHasAnAgentCommand()
    {
        var (code, stdout, _) = Hearth.Tests.Cli.Run("agent", "--help");
        Assert.Equal(0, code);
        Assert.Contains("permission policy", stdout);
    }
}
