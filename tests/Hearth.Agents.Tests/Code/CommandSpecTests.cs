using Hearth.Agents.Code;

namespace Hearth.Agents.Tests.Code;

public class CommandSpecTests
{
    [Theory]
    [InlineData("dotnet test", "dotnet", new[] { "test" })]
    [InlineData("  dotnet   run --no-restore ", "dotnet", new[] { "run", "--no-restore" })]
    [InlineData("dotnet test --filter \"Name~A B\" 'x y' a\\ b \"q\\\"\"", "dotnet", new[] { "test", "--filter", "Name~A B", "x y", "a b", "q\"" })]
    [InlineData("make ''", "make", new[] { "" })]
    public void SplitsLikeAShellWithoutExpanding(string line, string program, string[] arguments)
    {
        var spec = CommandSpec.Parse(line);
        Assert.Equal(program, spec.Program);
        Assert.Equal(arguments, spec.Arguments);
        Assert.Equal(spec.Arguments, CommandSpec.Parse(spec.ToString()).Arguments);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("dotnet 'test")]
    [InlineData("dotnet \"test")]
    public void RefusesEmptyAndUnclosed(string line) => Assert.Throws<ArgumentException>(() => CommandSpec.Parse(line));
}
