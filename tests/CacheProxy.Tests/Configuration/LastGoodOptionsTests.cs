using CacheProxy.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using CacheProxy.Tests.Infrastructure;

namespace CacheProxy.Tests.Configuration;

public sealed class LastGoodOptionsTests
{
    /// <summary>CacheProxy bound to a configuration the test reloads, with MaxVariantsPerUrl at 10 and in effect.</summary>
    private static (ReloadableConfiguration Source, ServiceProvider Provider, LastGoodOptions Options) Start()
    {
        var source = new ReloadableConfiguration(new() { ["CacheProxy:MaxVariantsPerUrl"] = "10" });
        var services = new ServiceCollection().AddFakeLogging();
        services.AddCacheProxy(source.Root.GetSection("CacheProxy"));
        var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<LastGoodOptions>();
        Assert.Equal(10, options.Current.MaxVariantsPerUrl);
        return (source, provider, options);
    }

    [Fact]
    public void AValidReload_TakesEffect_AndAnInvalidOne_KeepsTheLastGoodValue()
    {
        var (source, provider, options) = Start();
        using var _ = provider;

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

    /// <summary>A value that does not convert is refused like an invalid one, not thrown from the binder (ConfigurationShapeTests).</summary>
    [Fact]
    public void AReloadWithAValueThatDoesNotConvert_IsRejected_AndTheLastGoodValueStays()
    {
        var (source, provider, options) = Start();
        using var _ = provider;

        source.Reload(new() { ["CacheProxy:MaxVariantsPerUrl"] = "many" });

        Assert.Equal(10, options.Current.MaxVariantsPerUrl);
        var logs = provider.GetRequiredService<FakeLogCollector>().GetSnapshot();
        Assert.Contains("'many' is not a whole number", Assert.Single(logs, r => r.Id.Name == "ConfigurationInvalid").Message, StringComparison.Ordinal);
        Assert.Single(logs, r => r.Id.Name == "ConfigurationReloadRejected");
    }
}
