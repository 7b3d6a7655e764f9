using Microsoft.Extensions.Configuration;

namespace CacheProxy.Tests.Infrastructure;

/// <summary>A configuration whose values a test replaces, raising the reload a file change would.</summary>
public sealed class ReloadableConfiguration : IConfigurationSource
{
    private readonly Provider _provider = new();

    public ReloadableConfiguration(Dictionary<string, string?> values)
    {
        Root = new ConfigurationBuilder().Add(this).Build();
        Reload(values);
    }

    public IConfigurationRoot Root { get; }

    public void Reload(Dictionary<string, string?> values) => _provider.Reload(values);

    IConfigurationProvider IConfigurationSource.Build(IConfigurationBuilder builder) => _provider;

    private sealed class Provider : ConfigurationProvider
    {
        public void Reload(Dictionary<string, string?> values)
        {
            Data = new Dictionary<string, string?>(values, StringComparer.OrdinalIgnoreCase);
            OnReload();
        }
    }
}
