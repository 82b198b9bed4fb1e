using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>TLS to mosquitto with a certificate issued by a CA made in the test.</summary>
public sealed class MqttTlsTests
{
    /// <summary>Writes ca.crt, server.crt, server.key into <paramref name="dir"/>; returns the CA certificate (public part).</summary>
    internal static X509Certificate2 MakeCertificates(string dir)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Hearth Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(7), [1, 2, 3, 4]);

        File.WriteAllText(Path.Combine(dir, "ca.crt"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.crt"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        return X509CertificateLoader.LoadCertificate(ca.RawData);
    }

    private static async Task<(MosquittoBroker Broker, X509Certificate2 Ca)> StartTlsBrokerAsync()
    {
        X509Certificate2? ca = null;
        var broker = await MosquittoBroker.StartAsync(dir =>
        {
            ca = MakeCertificates(dir);
            return $"cafile {dir}/ca.crt\ncertfile {dir}/server.crt\nkeyfile {dir}/server.key\n";
        });
        return (broker, ca!);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task RoundTripOverTlsWithATrustedCa(MqttProtocolVersion version)
    {
        var (broker, ca) = await StartTlsBrokerAsync();
        using var _ = broker;
        using var __ = ca;
        await using var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1", Port = broker.Port, ProtocolVersion = version, UseTls = true, TrustedCaCertificate = ca,
        });
        await client.ConnectAsync();
        await client.SubscribeAsync("secure/#", MqttQos.AtLeastOnce);
        await client.PublishAsync("secure/x", "sealed", MqttQos.AtLeastOnce);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var m = await client.Messages.ReadAsync(cts.Token);
        Assert.Equal("sealed", m.PayloadText);
    }

    [Fact]
    public async Task AnUntrustedCertificateFailsTheHandshake()
    {
        var (broker, ca) = await StartTlsBrokerAsync();
        using var _ = broker;
        using var __ = ca;
        await using var client = new MqttClient(new MqttClientOptions { Host = "127.0.0.1", Port = broker.Port, UseTls = true });
        var e = await Assert.ThrowsAsync<MqttConnectionException>(() => client.ConnectAsync());
        Assert.Contains("TLS handshake", e.Message);
    }

    [Fact]
    public async Task ACustomValidationCallbackDecides()
    {
        var (broker, ca) = await StartTlsBrokerAsync();
        using var _ = broker;
        using var __ = ca;
        int calls = 0;
        await using var client = new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1", Port = broker.Port, UseTls = true,
            CertificateValidationCallback = (_, cert, _, _) => { Interlocked.Increment(ref calls); return cert?.Subject == "CN=localhost"; },
        });
        await client.ConnectAsync();
        Assert.True(client.IsConnected);
        Assert.Equal(1, calls);
    }
}
