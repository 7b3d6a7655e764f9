using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>A configuration section bound to an options type with <c>BindCacheProxySection</c>, for startup's checks and <c>cacheproxy config check</c>.</summary>
internal sealed record BoundSection(IConfiguration Section, Type OptionsType)
{
    /// <summary>The section's path, or null for a configuration root (whose unknown keys are no one's business).</summary>
    public string? Path => ConfigurationShape.PathOf(Section);

    /// <summary>The keys of every bound section in <paramref name="all"/> that bind to nothing, each section checked once.</summary>
    public static List<UnknownKey> UnknownKeys(IEnumerable<BoundSection> all)
    {
        var sections = all.Where(s => s.Path is not null).DistinctBy(s => (s.Path!.ToUpperInvariant(), s.OptionsType)).ToList();
        var paths = sections.Select(s => s.Path!).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. sections.SelectMany(s => ConfigurationShape.Check(s.Section, s.OptionsType, paths).Unknown)];
    }
}

/// <summary>
/// Binds <typeparamref name="TOptions"/> from a section with the values that do not convert left out, and reports those
/// values as validation failures — so a value such as <c>MaxObjectSize=lots</c> is listed with every other error at
/// startup (event 1300) and keeps the last good configuration on a reload, instead of throwing from the binder.
/// </summary>
internal sealed class CheckedSectionBinding<TOptions>(string name, IConfiguration section) : IConfigureNamedOptions<TOptions>, IValidateOptions<TOptions>
    where TOptions : class
{
    public void Configure(TOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? optionsName, TOptions options)
    {
        if ((optionsName ?? Options.DefaultName) != name)
        {
            return;
        }
        var (unconvertible, _) = ConfigurationShape.Check(section, typeof(TOptions));
        ConfigurationShape.WithoutUnconvertible(section, unconvertible).Bind(options);
    }

    public ValidateOptionsResult Validate(string? optionsName, TOptions options)
    {
        if ((optionsName ?? Options.DefaultName) != name)
        {
            return ValidateOptionsResult.Skip;
        }
        var (unconvertible, _) = ConfigurationShape.Check(section, typeof(TOptions));
        return unconvertible.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(unconvertible.Select(u => u.ToString()));
    }
}
