using Microsoft.Extensions.Options;

namespace CacheProxy.Configuration;

/// <summary>
/// Checks every setting at startup and on every reload, and reports all problems at once. At startup it also checks
/// that every route id under <c>CacheProxy:Routes</c> is a route YARP has; after startup a route id YARP does not
/// have (yet: its routes and these settings reload separately, in either order) is reported by the configuration
/// health check instead.
/// </summary>
internal sealed class CacheProxyOptionsValidator(IServiceProvider services) : IValidateOptions<CacheProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, CacheProxyOptions options)
    {
        var errors = new List<string>();
        if (options.MemoryTierSizeLimit < 1024 * 1024)
        {
            errors.Add($"CacheProxy:MemoryTierSizeLimit must be at least 1048576 bytes (was {options.MemoryTierSizeLimit}).");
        }
        // The GC's budget: its heap hard limit, else the container's memory limit, else the machine's memory.
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available > 0 && options.MemoryTierSizeLimit > available / 2)
        {
            errors.Add($"CacheProxy:MemoryTierSizeLimit ({options.MemoryTierSizeLimit} bytes) must be at most half of the memory this process may use "
                + $"({available} bytes: the GC heap limit, the container's limit or the machine's memory); the rest is for responses in flight and the GC's headroom.");
        }
        if (options.MaxObjectSize < 1 || options.MaxObjectSize > options.MemoryTierSizeLimit || options.MaxObjectSize > int.MaxValue)
        {
            errors.Add($"CacheProxy:MaxObjectSize must be between 1 and MemoryTierSizeLimit (was {options.MaxObjectSize}).");
        }
        if (options.CaptureMemoryLimit is < 1024 * 1024)
        {
            errors.Add($"CacheProxy:CaptureMemoryLimit must be at least 1048576 bytes (was {options.CaptureMemoryLimit}).");
        }
        else if (options.CaptureMemoryLimit is { } capture && available > 0 && capture > available / 2)
        {
            errors.Add($"CacheProxy:CaptureMemoryLimit ({capture} bytes) must be at most half of the memory this process may use ({available} bytes).");
        }
        if (options.SendTimeout < TimeSpan.FromSeconds(1) || options.SendTimeout > TimeSpan.FromHours(1))
        {
            errors.Add($"CacheProxy:SendTimeout must be between 1 second and 1 hour (was {options.SendTimeout}).");
        }
        ValidateCompression("CacheProxy:Compression", options.Compression.MinimumSize, options.Compression.BrotliQuality, options.Compression.GzipLevel, errors);
        ValidateEsi(options.Esi, errors);
        ValidateRefreshAhead(options.RefreshAhead, errors);
        foreach (var (experimentName, experiment) in options.Experiments)
        {
            ValidateExperiment(experimentName, experiment, errors);
        }
        ValidateCdn(options.Cdn, errors);
        FieldName("CacheProxy:Cdn:TagHeader", options.Cdn.TagHeader, errors);
        FieldName("CacheProxy:TargetedCacheControl", options.TargetedCacheControl, errors);
        if (options.TargetedCacheControl is { Length: > 0 } own && new[] { "Cache-Control", "CDN-Cache-Control", "Surrogate-Control" }.Contains(own, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"CacheProxy:TargetedCacheControl must be a field of this gateway's own, not {own}.");
        }
        foreach (var (routeId, route) in options.Routes)
        {
            FieldName($"CacheProxy:Routes:{routeId}:Cdn:TagHeader", route.Cdn.TagHeader, errors);
            foreach (var (field, value) in new[] { ("CdnCacheControl", route.Cdn.CdnCacheControl), ("SurrogateControl", route.Cdn.SurrogateControl) })
            {
                if (value is not null && value.Any(char.IsControl))
                {
                    errors.Add($"CacheProxy:Routes:{routeId}:Cdn:{field} must hold no control characters.");
                }
            }
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
        if (options.HitForPassTtl < TimeSpan.Zero || options.HitForPassTtl > TimeSpan.FromHours(1))
        {
            errors.Add($"CacheProxy:HitForPassTtl must be between 0 and 1 hour (was {options.HitForPassTtl}).");
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
        ValidateManagement(options.Management, errors);
        ValidateTags(options.Tags, errors);
        ValidatePurge(options.Purge, errors);
        if (options.Shutdown.DrainDelay < TimeSpan.Zero || options.Shutdown.DrainDelay > TimeSpan.FromMinutes(5))
        {
            errors.Add($"CacheProxy:Shutdown:DrainDelay must be between 0 and 5 minutes (was {options.Shutdown.DrainDelay}).");
        }
        if (options.Shutdown.Timeout < TimeSpan.FromSeconds(1) || options.Shutdown.Timeout > TimeSpan.FromHours(1))
        {
            errors.Add($"CacheProxy:Shutdown:Timeout must be between 1 second and 1 hour (was {options.Shutdown.Timeout}).");
        }
        if (options.Upstream.ConnectTimeout < TimeSpan.FromMilliseconds(100) || options.Upstream.ConnectTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"CacheProxy:Upstream:ConnectTimeout must be between 100 ms and 5 minutes (was {options.Upstream.ConnectTimeout}).");
        }
        if (options.Upstream.ConnectRetries is < 0 or > 3)
        {
            errors.Add($"CacheProxy:Upstream:ConnectRetries must be between 0 and 3 (was {options.Upstream.ConnectRetries}).");
        }
        ValidateResponseHeadersTimeout("CacheProxy:Upstream:ResponseHeadersTimeout", options.Upstream.ResponseHeadersTimeout, errors);
        if (options.Upstream.TlsReloadInterval < TimeSpan.FromSeconds(1) || options.Upstream.TlsReloadInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"CacheProxy:Upstream:TlsReloadInterval must be between 1 second and 1 hour (was {options.Upstream.TlsReloadInterval}).");
        }
        foreach (var (cluster, tls) in options.Upstream.Tls)
        {
            errors.AddRange(Hosting.UpstreamCertificates.Check($"CacheProxy:Upstream:Tls:{cluster}", tls));
        }
        if (options.Upstream.MaxConnectionsPerServer is < 1 or > 65535)
        {
            errors.Add($"CacheProxy:Upstream:MaxConnectionsPerServer must be between 1 and 65535 (was {options.Upstream.MaxConnectionsPerServer}).");
        }
        if (options.Maintenance.RetryAfter < TimeSpan.FromSeconds(1) || options.Maintenance.RetryAfter > TimeSpan.FromDays(1))
        {
            errors.Add($"CacheProxy:Maintenance:RetryAfter must be between 1 second and 1 day (was {options.Maintenance.RetryAfter}).");
        }
        ValidateNetworks("CacheProxy:Maintenance:AllowedNetworks", options.Maintenance.AllowedNetworks, errors);
        if (options.MetricDimensionValueLimit is < 1 or > 10_000)
        {
            errors.Add($"CacheProxy:MetricDimensionValueLimit must be between 1 and 10000 (was {options.MetricDimensionValueLimit}).");
        }
        var warm = options.Warm;
        if (warm.Concurrency is < 1 or > 64)
        {
            errors.Add($"CacheProxy:Warm:Concurrency must be between 1 and 64 (was {warm.Concurrency}).");
        }
        if (!(warm.RequestsPerSecond is >= 0.1 and <= 10_000))
        {
            errors.Add($"CacheProxy:Warm:RequestsPerSecond must be between 0.1 and 10000 (was {warm.RequestsPerSecond}).");
        }
        if (warm.MaxLinksPerResponse is < 0 or > 100)
        {
            errors.Add($"CacheProxy:Warm:MaxLinksPerResponse must be between 0 and 100 (was {warm.MaxLinksPerResponse}).");
        }
        if (warm.MaxUrls is < 1 or > 1_000_000)
        {
            errors.Add($"CacheProxy:Warm:MaxUrls must be between 1 and 1000000 (was {warm.MaxUrls}).");
        }
        if (warm.RequestTimeout < TimeSpan.FromSeconds(1) || warm.RequestTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"CacheProxy:Warm:RequestTimeout must be between 1 second and 10 minutes (was {warm.RequestTimeout}).");
        }
        if (warm.StartupFile is { } startupFile && !File.Exists(startupFile))
        {
            errors.Add($"CacheProxy:Warm:StartupFile '{startupFile}' does not exist.");
        }
        if (warm.PublicUrl is { } publicUrl && !Http.HttpUrl.TryParse(publicUrl, out _))
        {
            errors.Add($"CacheProxy:Warm:PublicUrl must be an absolute http:// or https:// URL (was '{publicUrl}').");
        }
        foreach (var field in options.UnkeyedRequestHeaders.Keys.Concat(options.Routes.Values.SelectMany(r => r.UnkeyedRequestHeaders.Keys)))
        {
            if (string.IsNullOrEmpty(field) || !field.All(Http.CacheControl.IsTokenChar))
            {
                errors.Add($"CacheProxy:UnkeyedRequestHeaders: '{field}' is not a header field name.");
            }
        }
        for (var i = 0; i < options.CredentialHeaders.Count; i++)
        {
            if (string.IsNullOrEmpty(options.CredentialHeaders[i]) || !options.CredentialHeaders[i].All(Http.CacheControl.IsTokenChar))
            {
                errors.Add($"CacheProxy:CredentialHeaders:{i} must be a header field name (was '{options.CredentialHeaders[i]}').");
            }
        }
        foreach (var (routeId, route) in options.Routes)
        {
            if (route.ResponseHeadersTimeout is { } headersTimeout)
            {
                ValidateResponseHeadersTimeout($"CacheProxy:Routes:{routeId}:ResponseHeadersTimeout", headersTimeout, errors);
            }
            ValidateCompression($"CacheProxy:Routes:{routeId}:Compression", route.Compression.MinimumSize, route.Compression.BrotliQuality, route.Compression.GzipLevel, errors);
            ValidateHosts($"CacheProxy:Routes:{routeId}:Esi:AllowedHosts", route.Esi.AllowedHosts, errors);
            ValidateTokens($"CacheProxy:Routes:{routeId}:Esi:Cookies", route.Esi.Cookies, errors);
            if (route.RefreshAhead.Threshold is { } routeThreshold && routeThreshold is not (> 0 and < 1))
            {
                errors.Add($"CacheProxy:Routes:{routeId}:RefreshAhead:Threshold must be greater than 0 and less than 1 (was {routeThreshold}).");
            }
            if (route.RefreshAhead.MinHits is < 1)
            {
                errors.Add($"CacheProxy:Routes:{routeId}:RefreshAhead:MinHits must be at least 1 (was {route.RefreshAhead.MinHits}).");
            }
            if (route.Ttl is { } ttl && ttl <= TimeSpan.Zero)
            {
                errors.Add($"CacheProxy:Routes:{routeId}:Ttl must be positive (was {ttl}).");
            }
            ValidateGraphQL($"CacheProxy:Routes:{routeId}:GraphQL", route.GraphQL, errors);
            ValidateTokens($"CacheProxy:Routes:{routeId}:Key:Cookies", route.Key.Cookies, errors);
            ValidateImages($"CacheProxy:Routes:{routeId}:Images", route.Images, errors);
            foreach (var experiment in route.Experiments)
            {
                if (!options.Experiments.ContainsKey(experiment))
                {
                    errors.Add($"CacheProxy:Routes:{routeId}:Experiments names {experiment}, which CacheProxy:Experiments does not have.");
                }
            }
            if (route.Experiments.Count > 0 && services.GetService(typeof(Experiments.ExperimentAssignments)) is null)
            {
                errors.Add($"CacheProxy:Routes:{routeId}:Experiments needs AddExperiments() on the CacheProxy builder.");
            }
        }
        if (!Started())
        {
            foreach (var routeId in ProxyRoutes.Unknown(services, options))
            {
                errors.Add($"CacheProxy:Routes:{routeId} names a route YARP does not have (YARP's routes: {string.Join(", ", ProxyRoutes.Known(services))}).");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private bool Started() =>
        services.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime)) is Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime
        && lifetime.ApplicationStarted.IsCancellationRequested;

    /// <summary>The shortest API key accepted: 32 characters, e.g. 24 random bytes in base64.</summary>
    internal const int MinimumApiKeyLength = 32;

    private static void ValidateManagement(ManagementOptions management, List<string> errors)
    {
        foreach (var (name, key) in management.ApiKeys)
        {
            // The key itself is never written anywhere, not even into a configuration error.
            if (string.IsNullOrEmpty(key) || key.Length < MinimumApiKeyLength || key.Any(char.IsWhiteSpace))
            {
                errors.Add($"CacheProxy:Management:ApiKeys:{name} must be at least {MinimumApiKeyLength} characters without whitespace.");
            }
        }
        ValidateNetworks("CacheProxy:Management:AllowedNetworks", management.AllowedNetworks, errors);
        if (management.FailedAttemptsPerMinute is < 1 or > 10_000)
        {
            errors.Add($"CacheProxy:Management:FailedAttemptsPerMinute must be between 1 and 10000 (was {management.FailedAttemptsPerMinute}).");
        }
        if (management.EventStreamsPerKey is < 1 or > 1000)
        {
            errors.Add($"CacheProxy:Management:EventStreamsPerKey must be between 1 and 1000 (was {management.EventStreamsPerKey}).");
        }
        if (!(management.PurgesPerSecondPerKey > 0 && management.PurgesPerSecondPerKey <= 100_000))
        {
            errors.Add($"CacheProxy:Management:PurgesPerSecondPerKey must be above 0 and at most 100000 (was {management.PurgesPerSecondPerKey}).");
        }
    }

    /// <summary>An optional HTTP field name: empty or null is none.</summary>
    private static void FieldName(string path, string? name, List<string> errors)
    {
        if (!string.IsNullOrEmpty(name) && !name.All(Http.CacheControl.IsTokenChar))
        {
            errors.Add($"{path} must be an HTTP field name (was '{name}').");
        }
    }

    private static void ValidateCdn(CdnOptions cdn, List<string> errors)
    {
        Range("CacheProxy:Cdn:RetryDelay", cdn.RetryDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), errors);
        Range("CacheProxy:Cdn:MaxRetryDelay", cdn.MaxRetryDelay, cdn.RetryDelay, TimeSpan.FromHours(1), errors);
        Range("CacheProxy:Cdn:GiveUpAfter", cdn.GiveUpAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), errors);
        Range("CacheProxy:Cdn:RequestTimeout", cdn.RequestTimeout, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), errors);
        Range("CacheProxy:Cdn:MaxWait", cdn.MaxWait, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), errors);
        Range("CacheProxy:Cdn:PollInterval", cdn.PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), errors);
        if (cdn.MaxPending is < 1 or > 1_000_000)
        {
            errors.Add($"CacheProxy:Cdn:MaxPending must be between 1 and 1000000 (was {cdn.MaxPending}).");
        }
        ValidateNetworks("CacheProxy:Cdn:TagHeaderNetworks", cdn.TagHeaderNetworks, errors);
        foreach (var (name, provider) in cdn.Providers)
        {
            var path = $"CacheProxy:Cdn:Providers:{name}";
            if (!Cdn.CdnPurgers.IsValidName(name))
            {
                errors.Add($"{path}: a provider name is 1 to 64 letters, digits, '-' or '_'.");
            }
            // Credentials are never written anywhere, not even into a configuration error: only whether they are there.
            switch (provider.Type)
            {
                case null:
                    errors.Add($"{path}:Type is required: Fastly, Cloudflare or Webhook.");
                    break;
                case CdnProviderType.Fastly:
                    Required($"{path}:Token", provider.Token, "Fastly's API token (Fastly-Key)", errors);
                    Required($"{path}:ServiceId", provider.ServiceId, "the Fastly service id", errors);
                    break;
                case CdnProviderType.Cloudflare:
                    Required($"{path}:Token", provider.Token, "a Cloudflare API token with the Cache Purge permission", errors);
                    Required($"{path}:ZoneId", provider.ZoneId, "the Cloudflare zone id", errors);
                    break;
                case CdnProviderType.Webhook:
                    Required($"{path}:Url", provider.Url, "the URL the webhook posts to", errors);
                    break;
            }
            if (provider.Url is { Length: > 0 } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)))
            {
                errors.Add($"{path}:Url must be an absolute http:// or https:// URL.");
            }
            if (provider.BatchSize is < 1 or > 10_000)
            {
                errors.Add($"{path}:BatchSize must be between 1 and 10000 (was {provider.BatchSize}).");
            }
        }

        static void Required(string path, string? value, string what, List<string> errors)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add($"{path} is required: {what}.");
            }
        }

        static void Range(string path, TimeSpan value, TimeSpan min, TimeSpan max, List<string> errors)
        {
            if (value < min || value > max)
            {
                errors.Add($"{path} must be between {min} and {max} (was {value}).");
            }
        }
    }

    private void ValidateImages(string path, RouteImageOptions images, List<string> errors)
    {
        if (!images.Enabled)
        {
            return;
        }
        // A marker, not the variants themselves: they depend on the store, which reads these options (a cycle).
        if (services.GetService(typeof(Caching.ImagesAdded)) is null)
        {
            errors.Add($"{path}:Enabled needs AddImages() on the CacheProxy builder (package CacheProxy.Images).");
        }
        if (images.MaxWidth is < 16 or > 16384)
        {
            errors.Add($"{path}:MaxWidth must be between 16 and 16384 (was {images.MaxWidth}).");
        }
        for (var i = 0; i < images.Widths.Count; i++)
        {
            if (images.Widths[i] < 1 || images.Widths[i] > images.MaxWidth)
            {
                errors.Add($"{path}:Widths:{i} must be between 1 and MaxWidth ({images.MaxWidth}; was {images.Widths[i]}).");
            }
        }
        if (images.Quality is < 1 or > 100)
        {
            errors.Add($"{path}:Quality must be between 1 and 100 (was {images.Quality}).");
        }
        if (images.MaxPixels is < 1 or > 268_402_689)
        {
            errors.Add($"{path}:MaxPixels must be between 1 and 268402689 (was {images.MaxPixels}).");
        }
        if (images.SigningKey is { Length: < 32 })
        {
            errors.Add($"{path}:SigningKey must be at least 32 characters (was {images.SigningKey.Length}).");
        }
    }

    private static void ValidateExperiment(string name, ExperimentOptions experiment, List<string> errors)
    {
        var path = $"CacheProxy:Experiments:{name}";
        if (!IsBucketName(name))
        {
            errors.Add($"{path}: an experiment's name must be 1 to 64 letters, digits, '-' or '_'.");
        }
        if (experiment.Buckets.Count == 0)
        {
            errors.Add($"{path}:Buckets must hold at least one bucket and its weight.");
        }
        foreach (var (bucket, weight) in experiment.Buckets)
        {
            if (!IsBucketName(bucket))
            {
                errors.Add($"{path}:Buckets:{bucket}: a bucket's name must be 1 to 64 letters, digits, '-' or '_'.");
            }
            if (weight is < 0 or > 100)
            {
                errors.Add($"{path}:Buckets:{bucket} must be a weight between 0 and 100 (was {weight}).");
            }
        }
        if (experiment.Buckets.Count > 0 && experiment.Buckets.Values.Sum() != 100)
        {
            errors.Add($"{path}:Buckets must add up to 100 (was {experiment.Buckets.Values.Sum()}).");
        }
        if (experiment.CookieName is { } cookie && !IsToken(cookie))
        {
            errors.Add($"{path}:CookieName must be a cookie name (an HTTP token; was '{cookie}').");
        }
        if (experiment.Header is { } header && !IsToken(header))
        {
            errors.Add($"{path}:Header must be a header field name (was '{header}').");
        }
        if (experiment.CookieMaxAge < TimeSpan.FromMinutes(1) || experiment.CookieMaxAge > TimeSpan.FromDays(400))
        {
            errors.Add($"{path}:CookieMaxAge must be between 1 minute and 400 days (was {experiment.CookieMaxAge}).");
        }

        static bool IsBucketName(string value) => value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
    }

    private static void ValidateGraphQL(string path, RouteGraphQLOptions graphQL, List<string> errors)
    {
        if (!graphQL.Enabled)
        {
            return;
        }
        if (graphQL.Key is not (GraphQLKeyScope.Shared or GraphQLKeyScope.PerCaller))
        {
            errors.Add($"{path}:Key must be set on a GraphQL route: Shared (one entry per operation for every caller) or PerCaller (the Authorization value and Key:Cookies keyed too).");
        }
        if (graphQL.MaxBodySize is < 1024 or > 1024 * 1024)
        {
            errors.Add($"{path}:MaxBodySize must be between 1024 and 1048576 bytes (was {graphQL.MaxBodySize}).");
        }
        if (graphQL.MaxEntityTags is < 1 or > 1000)
        {
            errors.Add($"{path}:MaxEntityTags must be between 1 and 1000 (was {graphQL.MaxEntityTags}).");
        }
        foreach (var (type, fields) in graphQL.KeyFields)
        {
            if (fields.Length == 0 || fields.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"{path}:KeyFields:{type} must name at least one field, none empty.");
            }
        }
    }

    private static void ValidateRefreshAhead(RefreshAheadOptions ahead, List<string> errors)
    {
        if (ahead.Threshold is not (> 0 and < 1))
        {
            errors.Add($"CacheProxy:RefreshAhead:Threshold must be greater than 0 and less than 1 (was {ahead.Threshold}).");
        }
        if (ahead.MinHits < 1)
        {
            errors.Add($"CacheProxy:RefreshAhead:MinHits must be at least 1 (was {ahead.MinHits}).");
        }
        if (ahead.MaxPerSecond < 1)
        {
            errors.Add($"CacheProxy:RefreshAhead:MaxPerSecond must be at least 1 (was {ahead.MaxPerSecond}).");
        }
        if (ahead.MaxConcurrent is < 1 or > 1000)
        {
            errors.Add($"CacheProxy:RefreshAhead:MaxConcurrent must be between 1 and 1000 (was {ahead.MaxConcurrent}).");
        }
    }

    private static void ValidateEsi(EsiOptions esi, List<string> errors)
    {
        if (esi.MaxDepth is < 1 or > 10)
        {
            errors.Add($"CacheProxy:Esi:MaxDepth must be between 1 and 10 (was {esi.MaxDepth}).");
        }
        if (esi.MaxFragments is < 1 or > 1000)
        {
            errors.Add($"CacheProxy:Esi:MaxFragments must be between 1 and 1000 (was {esi.MaxFragments}).");
        }
        if (esi.MaxAssembledBytes < 1)
        {
            errors.Add($"CacheProxy:Esi:MaxAssembledBytes must be 1 or more (was {esi.MaxAssembledBytes}).");
        }
        if (esi.FragmentTimeout < TimeSpan.FromMilliseconds(10) || esi.FragmentTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"CacheProxy:Esi:FragmentTimeout must be between 10 ms and 5 minutes (was {esi.FragmentTimeout}).");
        }
        for (var i = 0; i < esi.ContentTypes.Length; i++)
        {
            if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(esi.ContentTypes[i], out _))
            {
                errors.Add($"CacheProxy:Esi:ContentTypes:{i} must be a media type (was '{esi.ContentTypes[i]}').");
            }
        }
    }

    private static void ValidateHosts(string section, string[] hosts, List<string> errors)
    {
        for (var i = 0; i < hosts.Length; i++)
        {
            if (Uri.CheckHostName(hosts[i].Split(':')[0]) == UriHostNameType.Unknown)
            {
                errors.Add($"{section}:{i} must be a host name (was '{hosts[i]}').");
            }
        }
    }

    private static bool IsToken(string value) => value.Length > 0 && value.All(Http.CacheControl.IsTokenChar);

    private static void ValidateTokens(string section, IList<string> names, List<string> errors)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.IsNullOrEmpty(names[i]) || !names[i].All(Http.CacheControl.IsTokenChar))
            {
                errors.Add($"{section}:{i} must be a cookie name (was '{names[i]}').");
            }
        }
    }

    /// <summary>The global compression settings, or a route's (where null is "as the global one").</summary>
    private static void ValidateCompression(string section, long? minimumSize, int? brotliQuality, System.IO.Compression.CompressionLevel? gzipLevel, List<string> errors)
    {
        if (minimumSize is < 0)
        {
            errors.Add($"{section}:MinimumSize must be 0 or more (was {minimumSize}).");
        }
        if (brotliQuality is < 0 or > 11)
        {
            errors.Add($"{section}:BrotliQuality must be between 0 and 11 (was {brotliQuality}).");
        }
        if (gzipLevel is { } level && level is not (System.IO.Compression.CompressionLevel.Optimal or System.IO.Compression.CompressionLevel.Fastest or System.IO.Compression.CompressionLevel.SmallestSize))
        {
            errors.Add($"{section}:GzipLevel must be Optimal, Fastest or SmallestSize (was {level}).");
        }
    }

    private static void ValidateResponseHeadersTimeout(string name, TimeSpan timeout, List<string> errors)
    {
        if (timeout < TimeSpan.FromMilliseconds(100) || timeout > TimeSpan.FromHours(1))
        {
            errors.Add($"{name} must be between 100 ms and 1 hour (was {timeout}).");
        }
    }

    private static void ValidateNetworks(string key, IList<string> networks, List<string> errors)
    {
        for (var i = 0; i < networks.Count; i++)
        {
            if (!System.Net.IPNetwork.TryParse(networks[i], out _))
            {
                errors.Add($"{key}:{i} must be a network in CIDR notation such as 10.0.0.0/8 (was '{networks[i]}').");
            }
        }
    }

    private static void ValidateTags(TagOptions tags, List<string> errors)
    {
        foreach (var (key, value) in new[] { ("SurrogateKeyHeader", tags.SurrogateKeyHeader), ("CacheTagHeader", tags.CacheTagHeader) })
        {
            if (value is null || !value.All(Http.CacheControl.IsTokenChar))
            {
                errors.Add($"CacheProxy:Tags:{key} must be an HTTP field name or empty (was '{value}').");
            }
        }
        if (tags.MaxTagsPerResponse is < 1 or > 1000)
        {
            errors.Add($"CacheProxy:Tags:MaxTagsPerResponse must be between 1 and 1000 (was {tags.MaxTagsPerResponse}).");
        }
        if (tags.MaxTagLength is < 1 or > 1024)
        {
            errors.Add($"CacheProxy:Tags:MaxTagLength must be between 1 and 1024 (was {tags.MaxTagLength}).");
        }
    }

    private static void ValidatePurge(PurgeOptions purge, List<string> errors)
    {
        if (purge.Retention < TimeSpan.FromMinutes(1))
        {
            errors.Add($"CacheProxy:Purge:Retention must be at least 1 minute (was {purge.Retention}).");
        }
        if (purge.ClockSkew < TimeSpan.Zero || purge.ClockSkew > TimeSpan.FromMinutes(1))
        {
            errors.Add($"CacheProxy:Purge:ClockSkew must be between 0 and 1 minute (was {purge.ClockSkew}).");
        }
        if (purge.MaxSelectors is < 1 or > 10_000)
        {
            errors.Add($"CacheProxy:Purge:MaxSelectors must be between 1 and 10000 (was {purge.MaxSelectors}).");
        }
        if (purge.MaxSelectorLength is < 1 or > 8192)
        {
            errors.Add($"CacheProxy:Purge:MaxSelectorLength must be between 1 and 8192 (was {purge.MaxSelectorLength}).");
        }
        if (purge.MaxLedgerEntries is < 1000 or > 100_000_000)
        {
            errors.Add($"CacheProxy:Purge:MaxLedgerEntries must be between 1000 and 100000000 (was {purge.MaxLedgerEntries}).");
        }
    }
}
