using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>Checks every setting at startup and reports all problems at once.</summary>
internal sealed class CacheProxyOptionsValidator(Microsoft.Extensions.Logging.ILoggerFactory loggers) : IValidateOptions<CacheProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, CacheProxyOptions options)
    {
        var errors = new List<string>();
        if (options.MemoryTierSizeLimit < 1024 * 1024)
        {
            errors.Add($"CacheProxy:MemoryTierSizeLimit must be at least 1048576 bytes (was {options.MemoryTierSizeLimit}).");
        }
        if (options.MaxObjectSize < 1 || options.MaxObjectSize > options.MemoryTierSizeLimit || options.MaxObjectSize > int.MaxValue)
        {
            errors.Add($"CacheProxy:MaxObjectSize must be between 1 and MemoryTierSizeLimit (was {options.MaxObjectSize}).");
        }
        if (options.MaxVariantsPerUrl is < 1 or > 1000)
        {
            errors.Add($"CacheProxy:MaxVariantsPerUrl must be between 1 and 1000 (was {options.MaxVariantsPerUrl}).");
        }
        if (options.HeuristicFraction is < 0 or > 1 || double.IsNaN(options.HeuristicFraction))
        {
            errors.Add($"CacheProxy:HeuristicFraction must be between 0 and 1 (was {options.HeuristicFraction}).");
        }
        if (options.HeuristicMaxLifetime < TimeSpan.Zero)
        {
            errors.Add("CacheProxy:HeuristicMaxLifetime must not be negative.");
        }
        if (options.StaleRetention < TimeSpan.Zero)
        {
            errors.Add("CacheProxy:StaleRetention must not be negative.");
        }
        if (options.CollapseTimeout <= TimeSpan.Zero)
        {
            errors.Add("CacheProxy:CollapseTimeout must be positive.");
        }
        if (string.IsNullOrEmpty(options.CacheStatusName) || !options.CacheStatusName.All(Http.CacheControl.IsTokenChar))
        {
            errors.Add($"CacheProxy:CacheStatusName must be a token (was '{options.CacheStatusName}').");
        }
        if (string.IsNullOrEmpty(options.Correlation.HeaderName) || !options.Correlation.HeaderName.All(Http.CacheControl.IsTokenChar))
        {
            errors.Add($"CacheProxy:Correlation:HeaderName must be an HTTP field name (was '{options.Correlation.HeaderName}').");
        }
        if (options.Correlation.MaxLength is < 1 or > 1024)
        {
            errors.Add($"CacheProxy:Correlation:MaxLength must be between 1 and 1024 (was {options.Correlation.MaxLength}).");
        }
        if (options.Management.Port is < 1 or > 65535)
        {
            errors.Add($"CacheProxy:Management:Port must be between 1 and 65535 (was {options.Management.Port}).");
        }
        foreach (var (routeId, route) in options.Routes)
        {
            if (route.Ttl is { } ttl && ttl <= TimeSpan.Zero)
            {
                errors.Add($"CacheProxy:Routes:{routeId}:Ttl must be positive (was {ttl}).");
            }
        }
        if (errors.Count == 0)
        {
            return ValidateOptionsResult.Success;
        }
        CacheProxy.Diagnostics.Log.ConfigurationInvalid(loggers.CreateLogger(CacheProxy.Diagnostics.LogCategories.Configuration), string.Join(" ", errors));
        return ValidateOptionsResult.Fail(errors);
    }
}
