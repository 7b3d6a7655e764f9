using CacheProxy.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Binds options from a section of CacheProxy's configuration, checked as CacheProxy checks its own.</summary>
public static class CacheProxyOptionsBuilderExtensions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to <paramref name="section"/> and reloads it with the section, as
    /// <c>Bind</c> does, with two differences: a value that does not convert to its property's type is a validation
    /// failure, reported with every other error at startup (event 1300) and keeping the last good options on a reload,
    /// rather than an exception from the binder; and keys of the section that bind to no property are logged at
    /// startup (event 1305, with the nearest known key) and listed by <c>cacheproxy config check</c>. For the options of
    /// packages that extend CacheProxy (CacheProxy.Redis binds <c>CacheProxy:Redis</c> with it).
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="builder">The options builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The options builder.</returns>
    public static OptionsBuilder<TOptions> BindCacheProxySection<TOptions>(this OptionsBuilder<TOptions> builder, IConfiguration section)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        var binding = new CheckedSectionBinding<TOptions>(builder.Name, section);
        builder.Services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(new ConfigurationChangeTokenSource<TOptions>(builder.Name, section));
        builder.Services.AddSingleton<IConfigureOptions<TOptions>>(binding);
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(binding);
        builder.Services.AddSingleton(new BoundSection(section, typeof(TOptions)));
        return builder;
    }
}
