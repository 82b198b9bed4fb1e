using Hearth.Generation;

namespace Hearth.Tests.Generation;

public sealed class StopStringMatcherTests
{
    [Fact]
    public void HoldsBackAPossibleStopPrefixAndReleasesItWhenItIsNotOne()
    {
        var m = new StopStringMatcher(["</end>"]);
        Assert.Equal("hello ", m.Push("hello </"));
        Assert.Equal("</x", m.Push("x"));
        Assert.False(m.Stopped);
    }

    [Fact]
    public void StopSplitAcrossPiecesIsCaughtAndCut()
    {
        var m = new StopStringMatcher(["STOP", "END"]);
        Assert.Equal("ab", m.Push("abST"));
        Assert.Equal("STx", m.Push("x"));
        Assert.Equal("", m.Push("EN"));
        Assert.Equal("", m.Push("D and more"));
        Assert.True(m.Stopped);
        Assert.Equal("END", m.MatchedStop);
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void EarliestStopWins()
    {
        var m = new StopStringMatcher(["b", "a"]);
        Assert.Equal("x", m.Push("xab"));
        Assert.Equal("a", m.MatchedStop);
    }

    [Fact]
    public void FlushReturnsHeldText()
    {
        var m = new StopStringMatcher(["###"]);
        Assert.Equal("a", m.Push("a##"));
        Assert.Equal("##", m.Flush());
    }
}
