using CacheProxy.Configuration;

namespace CacheProxy.Cdn;

/// <summary>
/// The CDNs purges go to: the built-ins <c>CacheProxy:Cdn:Providers</c> configures (as it is now: a reload adds,
/// removes or re-keys them) and every <see cref="ICdnPurger"/> registered in DI.
/// </summary>
internal sealed class CdnPurgers(LastGoodOptions options, IEnumerable<ICdnPurger> registered, IHttpClientFactory clients, TimeProvider time)
{
    private readonly ICdnPurger[] _registered = [.. registered];

    /// <summary>Gets whether a name can name a provider: 1 to 64 letters, digits, '-' or '_' (it is part of Redis keys and metric tags).</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>Gets the providers' names now: configured ones, then registered ones.</summary>
    public IReadOnlyList<string> Names()
    {
        var configured = options.Current.Cdn.Providers;
        if (configured.Count == 0 && _registered.Length == 0)
        {
            return [];
        }
        return [.. configured.Keys.Concat(_registered.Select(p => p.Name)).Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Gets the provider named <paramref name="name"/>, or null when there is none now.</summary>
    public ICdnPurger? Get(string name)
    {
        if (options.Current.Cdn.Providers.TryGetValue(name, out var provider))
        {
            return provider.Type switch
            {
                CdnProviderType.Fastly => new FastlyPurger(name, provider, clients, time),
                CdnProviderType.Cloudflare => new CloudflarePurger(name, provider, clients, time),
                CdnProviderType.Webhook => new WebhookPurger(name, provider, clients, time),
                _ => null,
            };
        }
        return Array.Find(_registered, p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The type a provider is shown with: its configured type, or the class of a registered one.</summary>
    public string TypeOf(string name) =>
        options.Current.Cdn.Providers.TryGetValue(name, out var provider) ? provider.Type?.ToString() ?? "unknown"
            : Array.Find(_registered, p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))?.GetType().Name ?? "unknown";
}
