using CacheProxy.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Configuration;

public sealed class LastGoodOptionsTests
{
    [Fact]
    public void AValidReload_TakesEffect_AndAnInvalidOne_KeepsTheLastGoodValue()
    {
        var source = new ReloadableConfiguration(new() { ["CacheProxy:MaxVariantsPerUrl"] = "10" });
        var services = new ServiceCollection().AddFakeLogging();
        services.AddCacheProxy(source.Root.GetSection("CacheProxy"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<LastGoodOptions>();
        Assert.Equal(10, options.Current.MaxVariantsPerUrl);

        source.Reload(new() { ["CacheProxy:MaxVariantsPerUrl"] = "20" });
        Assert.Equal(20, options.Current.MaxVariantsPerUrl);

        source.Reload(new() { ["CacheProxy:MaxVariantsPerUrl"] = "0", ["CacheProxy:MaxObjectSize"] = "-1" });
        Assert.Equal(20, options.Current.MaxVariantsPerUrl);
        var logs = provider.GetRequiredService<FakeLogCollector>().GetSnapshot();
        var invalid = Assert.Single(logs, r => r.Id.Name == "ConfigurationInvalid");
        Assert.Contains("MaxVariantsPerUrl", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("MaxObjectSize", invalid.Message, StringComparison.Ordinal);
        Assert.Single(logs, r => r.Id.Name == "ConfigurationReloadRejected");
    }
}
