using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>The topic wildcard examples of MQTT 3.1.1 section 4.7 (repeated in 5.0 section 4.7).</summary>
public sealed class MqttTopicTests
{
    [Theory]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1")]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/ranking")]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon")]
    [InlineData("sport/#", "sport")]
    [InlineData("#", "sport/tennis")]
    [InlineData("sport/tennis/+", "sport/tennis/player1")]
    [InlineData("sport/tennis/+", "sport/tennis/player2")]
    [InlineData("sport/+/player1", "sport/tennis/player1")]
    [InlineData("sport/+", "sport/")]
    [InlineData("+/+", "/finance")]
    [InlineData("/+", "/finance")]
    [InlineData("+", "sport")]
    [InlineData("$SYS/#", "$SYS/monitor/Clients")]
    [InlineData("$SYS/monitor/+", "$SYS/monitor/Clients")]
    [InlineData("a/b", "a/b")]
    public void FilterMatches(string filter, string topic) => Assert.True(MqttTopic.Matches(filter, topic));

    [Theory]
    [InlineData("sport/tennis/+", "sport/tennis/player1/ranking")]
    [InlineData("sport/+", "sport")]
    [InlineData("+", "/finance")]
    [InlineData("#", "$SYS/monitor/Clients")]
    [InlineData("+/monitor/Clients", "$SYS/monitor/Clients")]
    [InlineData("ACCOUNTS", "Accounts")]
    [InlineData("a/b", "a/b/c")]
    [InlineData("a/b/c", "a/b")]
    public void FilterDoesNotMatch(string filter, string topic) => Assert.False(MqttTopic.Matches(filter, topic));

    [Theory]
    [InlineData("sport/tennis#")]
    [InlineData("sport/tennis/#/ranking")]
    [InlineData("sport+")]
    [InlineData("")]
    public void InvalidFiltersAreRejected(string filter)
    {
        Assert.False(MqttTopic.IsValidFilter(filter));
        Assert.Throws<ArgumentException>(() => MqttTopic.Matches(filter, "sport/tennis"));
    }

    [Theory]
    [InlineData("+")]
    [InlineData("+/tennis/#")]
    [InlineData("sport/+/player1")]
    [InlineData("#")]
    public void ValidFiltersAreAccepted(string filter) => Assert.True(MqttTopic.IsValidFilter(filter));

    [Theory]
    [InlineData("sport/+")]
    [InlineData("sport/#")]
    [InlineData("")]
    public void TopicNamesMayNotHoldWildcards(string topic) => Assert.False(MqttTopic.IsValidTopicName(topic));
}
