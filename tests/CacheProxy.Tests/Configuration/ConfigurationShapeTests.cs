using CacheProxy.Configuration;
using CacheProxy.Tests.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace CacheProxy.Tests.Configuration;

/// <summary>
/// What the binder would throw on or ignore without a word: a value that does not convert is a configuration error
/// listed with the others (not an exception that hides them), a key that binds to nothing is named with its nearest
/// known key. Regression: CacheProxy__MemoryTierSizeLimit=lots crashed the gateway and hid MaxObjectSize=-5.
/// </summary>
public sealed class ConfigurationShapeTests
{
    private static (IServiceProvider Services, FakeLogCollector Logs, Exception? Failure) Start(Dictionary<string, string?> settings, bool redis = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Services.AddFakeLogging();
        builder.Services.AddReverseProxy();
        var cacheProxy = builder.Services.AddCacheProxy(builder.Configuration.GetSection("CacheProxy"));
        if (redis)
        {
            cacheProxy.AddRedis();
        }
        var app = builder.Build();
        var failure = Record.Exception(() => app.UseCacheProxy());
        return (app.Services, app.Services.GetRequiredService<FakeLogCollector>(), failure);
    }

    [Fact]
    public void AValueThatDoesNotConvert_IsReportedWithEveryOtherError_AsOneEvent()
    {
        var (_, logs, failure) = Start(new()
        {
            ["CacheProxy:MemoryTierSizeLimit"] = "lots",
            ["CacheProxy:MaxObjectSize"] = "-5",
            ["CacheProxy:Routes:all:Ttl"] = "soon",
            ["CacheProxy:Compression:Enabled"] = "maybe",
            ["CacheProxy:Purge:ClockSkew"] = "",
            ["CacheProxy:Routes:all:ResponseHeadersTimeout"] = "", // empty for a nullable option is null, as for the binder
        });

        var invalid = Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains("CacheProxy:MemoryTierSizeLimit: 'lots' is not a whole number (Int64).", invalid.Failures);
        Assert.Contains("CacheProxy:Routes:all:Ttl: 'soon' is not a time span such as 00:00:30 (TimeSpan).", invalid.Failures);
        Assert.Contains("CacheProxy:Compression:Enabled: 'maybe' is not true or false (Boolean).", invalid.Failures);
        Assert.Contains(invalid.Failures, f => f.StartsWith("CacheProxy:MaxObjectSize must be between 1", StringComparison.Ordinal));
        Assert.Contains("CacheProxy:Purge:ClockSkew: '' is not a time span such as 00:00:30 (TimeSpan).", invalid.Failures);
        Assert.Equal(5, invalid.Failures.Count());
        var logged = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 1300);
        Assert.Contains("'lots'", logged.Message, StringComparison.Ordinal);
        Assert.Contains("MaxObjectSize must be", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CdnProviders_WithAnUnknownTypeOrWithoutTheirCredentials_StopStartup_NamingTheKeyAndNeverTheSecret()
    {
        var (_, logs, failure) = Start(new()
        {
            ["CacheProxy:Cdn:Providers:akamai:Type"] = "Akamai",
            ["CacheProxy:Cdn:Providers:fastly:Type"] = "Fastly",
            ["CacheProxy:Cdn:Providers:fastly:ServiceId"] = "svc",
            ["CacheProxy:Cdn:Providers:cloudflare:Type"] = "Cloudflare",
            ["CacheProxy:Cdn:Providers:cloudflare:Token"] = "a-token-that-must-never-be-written",
            ["CacheProxy:Cdn:Providers:hook:Type"] = "Webhook",
            ["CacheProxy:Cdn:Providers:hook:Url"] = "ftp://example.com/x",
            ["CacheProxy:Cdn:Providers:notype:Url"] = "https://example.com/x",
            ["CacheProxy:Cdn:TagHeader"] = "Surrogate Key",
            ["CacheProxy:Cdn:TagHeaderNetworks:0"] = "10.0.0.0/33",
            ["CacheProxy:TargetedCacheControl"] = "CDN-Cache-Control",
        });

        var invalid = Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains(invalid.Failures, f => f.StartsWith("CacheProxy:Cdn:Providers:akamai:Type: 'Akamai' is not", StringComparison.Ordinal));
        Assert.Contains("CacheProxy:Cdn:Providers:fastly:Token is required: Fastly's API token (Fastly-Key).", invalid.Failures);
        Assert.Contains("CacheProxy:Cdn:Providers:cloudflare:ZoneId is required: the Cloudflare zone id.", invalid.Failures);
        Assert.Contains("CacheProxy:Cdn:Providers:hook:Url must be an absolute http:// or https:// URL.", invalid.Failures);
        Assert.Contains("CacheProxy:Cdn:Providers:notype:Type is required: Fastly, Cloudflare or Webhook.", invalid.Failures);
        Assert.Contains("CacheProxy:Cdn:TagHeader must be an HTTP field name (was 'Surrogate Key').", invalid.Failures);
        Assert.Contains(invalid.Failures, f => f.StartsWith("CacheProxy:Cdn:TagHeaderNetworks", StringComparison.Ordinal));
        Assert.Contains("CacheProxy:TargetedCacheControl must be a field of this gateway's own, not CDN-Cache-Control.", invalid.Failures);
        Assert.DoesNotContain(logs.GetSnapshot(), r => r.Message.Contains("a-token-that-must-never-be-written", StringComparison.Ordinal));
        Assert.DoesNotContain(invalid.Failures, f => f.Contains("a-token-that-must-never-be-written", StringComparison.Ordinal));
    }

    [Fact]
    public void KeysThatBindToNothing_AreLogged_WithTheNearestKnownKey()
    {
        var (_, logs, failure) = Start(new()
        {
            ["CacheProxy:MaxObjSize"] = "5",
            ["CacheProxy:Managment:Port"] = "8081",
            ["CacheProxy:Routes:all:TTL"] = "00:01:00", // keys are case-insensitive, as the binder's
            ["CacheProxy:Routes:all:Tll"] = "00:01:00",
            ["CacheProxy:Management:ApiKeys:ops"] = new string('k', 32), // a dictionary's keys are the user's own
            ["CacheProxy:Redis:Configuration"] = "127.0.0.1:6379", // Redis's section, with no AddRedis to bind it
            ["CacheProxy:Shutdown:DrainDelay:Extra"] = "1",
            ["CacheProxy:Xyzzy"] = "1",
        });

        Assert.Null(failure); // a warning: the gateway starts
        var unknown = logs.GetSnapshot().Where(r => r.Id.Id == 1305).Select(r => r.Message).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
        [
            "Configuration key CacheProxy:Managment binds to no option and is ignored; did you mean CacheProxy:Management?",
            "Configuration key CacheProxy:MaxObjSize binds to no option and is ignored; did you mean CacheProxy:MaxObjectSize?",
            "Configuration key CacheProxy:Redis binds to no option and is ignored",
            "Configuration key CacheProxy:Routes:all:Tll binds to no option and is ignored; did you mean CacheProxy:Routes:all:Ttl?",
            "Configuration key CacheProxy:Shutdown:DrainDelay:Extra binds to no option and is ignored",
            "Configuration key CacheProxy:Xyzzy binds to no option and is ignored",
        ], unknown);
        Assert.All(logs.GetSnapshot().Where(r => r.Id.Id == 1305), r => Assert.Equal(LogLevel.Warning, r.Level));
    }

    [Fact]
    public void RedisSection_IsKnown_OnceAddRedisBindsIt_AndItsOwnKeysAreChecked()
    {
        var (_, logs, failure) = Start(new()
        {
            ["CacheProxy:Redis:Configuration"] = "127.0.0.1:6379",
            ["CacheProxy:Redis:KeyPrefx"] = "a:",
            ["CacheProxy:Redis:OperationTimeout"] = "fast",
        }, redis: true);

        var invalid = Assert.IsType<OptionsValidationException>(failure);
        Assert.Contains(invalid.Failures, f => f.StartsWith("CacheProxy:Redis:OperationTimeout: 'fast' is not a time span", StringComparison.Ordinal));
        var unknown = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 1305);
        Assert.Equal("Configuration key CacheProxy:Redis:KeyPrefx binds to no option and is ignored; did you mean CacheProxy:Redis:KeyPrefix?", unknown.Message);
    }

    [Fact]
    public void TheSampleGatewaysSettings_HaveNoKeyThatBindsToNothing()
    {
        var directory = Path.Combine(OperationsDocsTests.RepoRoot(), "samples", "CacheProxy.Gateway");
        foreach (var environment in new[] { "Development", "Production" })
        {
            var configuration = new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(directory, "appsettings.json"))
                .AddJsonFile(Path.Combine(directory, $"appsettings.{environment}.json"))
                .Build();
            var sections = new[] { new BoundSection(configuration.GetSection("CacheProxy"), typeof(CacheProxyOptions)) };

            Assert.Empty(BoundSection.UnknownKeys(sections));
            Assert.Empty(ConfigurationShape.Check(configuration.GetSection("CacheProxy"), typeof(CacheProxyOptions)).Unconvertible);
        }
    }
}
