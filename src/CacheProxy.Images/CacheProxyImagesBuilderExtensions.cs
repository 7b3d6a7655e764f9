using CacheProxy;
using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Images;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers CacheProxy's image variants.</summary>
public static class CacheProxyImagesBuilderExtensions
{
    /// <summary>
    /// Adds image variants (docs/images.md): routes with <c>CacheProxy:Routes:{id}:Images:Enabled</c> serve AVIF or
    /// WebP to clients that accept them and resized images by URL parameters, each made once with libvips and stored
    /// like any response. <c>CacheProxy:Images</c> bounds the work (<see cref="ImageTransformOptions"/>).
    /// </summary>
    /// <param name="builder">The builder <c>AddCacheProxy</c> returned.</param>
    /// <param name="configure">Changes to the bounds after configuration.</param>
    /// <returns>The builder.</returns>
    public static ICacheProxyBuilder AddImages(this ICacheProxyBuilder builder, Action<ImageTransformOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ImageTransformOptions>();
        _ = builder.Configuration is { } section ? options.BindCacheProxySection(section.GetSection("Images")) : options.BindConfiguration("CacheProxy:Images");
        if (configure is not null)
        {
            options.Configure(configure);
        }
        if (services.Any(d => d.ServiceType == typeof(ImageTransformer)))
        {
            return builder;
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ImageTransformOptions>, ImageTransformOptionsValidator>());
        services.TryAddSingleton<ImagesAdded>();
        services.TryAddSingleton<ImageTransformer>();
        services.TryAddSingleton<ImageVariants>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IRequestVariants, ImageVariants>(sp => sp.GetRequiredService<ImageVariants>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHeldResponses, ImageVariants>(sp => sp.GetRequiredService<ImageVariants>()));
        return builder;
    }
}

/// <summary>Checks <c>CacheProxy:Images</c> at startup and on every reload.</summary>
internal sealed class ImageTransformOptionsValidator : IValidateOptions<ImageTransformOptions>
{
    public ValidateOptionsResult Validate(string? name, ImageTransformOptions options)
    {
        var errors = new List<string>();
        if (options.MaxConcurrent is < 1 or > 256)
        {
            errors.Add($"CacheProxy:Images:MaxConcurrent must be between 1 and 256 (was {options.MaxConcurrent}).");
        }
        if (options.MaxQueue is < 0 or > 10_000)
        {
            errors.Add($"CacheProxy:Images:MaxQueue must be between 0 and 10000 (was {options.MaxQueue}).");
        }
        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"CacheProxy:Images:Timeout must be between 100 ms and 5 minutes (was {options.Timeout}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
