namespace Hearth.Server.Tests;

public sealed class SkeletonTests
{
    [Fact]
    public void LoopbackIsTheDefaultBind() => Assert.True(new HearthServerOptions().IsLoopback);
}
