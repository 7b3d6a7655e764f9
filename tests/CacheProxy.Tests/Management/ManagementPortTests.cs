using CacheProxy.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CacheProxy.Tests.Management;

/// <summary>The management port follows the Kestrel endpoint named Management unless it is set itself.</summary>
public sealed class ManagementPortTests
{
    private static int? PortWith(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddCacheProxy(configuration.GetSection("CacheProxy")).AddManagement();
        return services.BuildServiceProvider().GetRequiredService<IOptions<CacheProxyOptions>>().Value.Management.Port;
    }

    [Theory]
    [InlineData("http://127.0.0.1:5081", 5081)]
    [InlineData("http://+:8081", 8081)]
    [InlineData("http://*:9091", 9091)]
    [InlineData("https://[::1]:8443", 8443)]
    public void IsTheKestrelManagementEndpointsPort_WhenNotSet(string url, int port)
    {
        Assert.Equal(port, PortWith(("Kestrel:Endpoints:Management:Url", url)));
    }

    [Fact]
    public void AnExplicitPortWins_AndWithNeitherThereIsNone()
    {
        Assert.Equal(7000, PortWith(("Kestrel:Endpoints:Management:Url", "http://127.0.0.1:5081"), ("CacheProxy:Management:Port", "7000")));
        Assert.Null(PortWith(("Kestrel:Endpoints:Public:Url", "http://127.0.0.1:5080")));
    }
}
