using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Http;
using CacheProxy.Invalidation;
using CacheProxy.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Management;

/// <summary>
/// <c>GET /inspect?url=https://www.example.com/a&amp;header=Accept-Encoding:%20br</c> on the management endpoint (an
/// API key, like purge): why a URL is or is not a hit, from what is stored. The key, the tier that holds it, the Vary
/// rule and the variant the given request fields select, and for the stored response: status, size, age, freshness
/// lifetime and where it came from, the stale-while-revalidate and stale-if-error windows, validators, tags and
/// whether a purge touched it. For a URL with nothing stored, the last reason a response for it was not stored
/// (<see cref="NotStoredRecord"/>). Looking does not change anything: no reuse is recorded, nothing is fetched.
/// </summary>
internal sealed class InspectEndpoint(CacheKey keys, ICacheStore store, MemoryCacheStore memory, InvalidationLedger ledger,
    NotStoredRecord notStored, LastGoodOptions options, TimeProvider time, ErrorShaping errors, GraphQL.GraphQLRequests graphQL)
{
    private const int MaxHeaders = 32;

    /// <summary>Maps <c>GET /inspect</c>, described for the OpenAPI document.</summary>
    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder management) =>
        management.MapGet("/inspect", CacheProxy.Management.ManagementOpenApi.Handler(context => GetAsync(context)))
            .WithName("Inspect").WithTags("inspect")
            .WithSummary("What the cache holds for a URL, and why: its key, tier, freshness, tags and purge state, or why it was last not stored")
            .Produces<InspectResult>(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                ManagementOpenApi.Query(operation, "url", "The absolute http:// or https:// URL to look up, as a client asks for it.", required: true);
                ManagementOpenApi.Query(operation, "header", "A request field a Vary rule may select by, as `Name: value`; repeated, at most 32.",
                    required: false, repeated: true);
                return Task.CompletedTask;
            });

    public async Task GetAsync(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["url"] is not { Count: 1 } urlValue || !Http.HttpUrl.TryParse(urlValue[0], out var url))
        {
            await BadRequestAsync(context, "url", "one absolute http:// or https:// URL");
            return;
        }
        // The request the URL stands for, with the fields a Vary rule may select by ("Name: value").
        var probe = new DefaultHttpContext();
        probe.Request.Method = HttpMethods.Get;
        probe.Request.Scheme = url.Scheme;
        probe.Request.Host = HostString.FromUriComponent(url.Authority);
        probe.Request.Path = PathString.FromUriComponent(url.AbsolutePath);
        probe.Request.QueryString = QueryString.FromUriComponent(url.Query);
        var headers = query["header"];
        if (headers.Count > MaxHeaders)
        {
            await BadRequestAsync(context, "header", $"at most {MaxHeaders}");
            return;
        }
        for (var i = 0; i < headers.Count; i++)
        {
            var colon = headers[i]?.IndexOf(':') ?? -1;
            if (colon <= 0)
            {
                await BadRequestAsync(context, $"header[{i}]", "Name: value");
                return;
            }
            probe.Request.Headers.Append(headers[i]![..colon].Trim(), headers[i]![(colon + 1)..].Trim());
        }
        // A GraphQL GET query (docs/graphql.md) is keyed on its normalized operation, as its route keys it.
        var operation = graphQL.KeyPartsOf(probe.Request);
        var key = operation is { } parts ? keys.Build(probe, [new("graphql", parts.KeyValue)], parts.KeyQuery) : keys.Build(probe);
        if (key is null)
        {
            await WriteAsync(context, new InspectResult(url.ToString(), null, false) { Reason = "the URL cannot be keyed (a control character): never cached" });
            return;
        }
        var hash = CacheKey.Hash(key);
        var found = await store.GetAsync(key, CancellationToken.None);
        InspectVary? vary = null;
        var entryKey = key;
        if (found is not null && VaryRule.Decode(found) is { } rule)
        {
            // The request's secondary key once: the variant's key and what the answer shows of it.
            var keyed = Variants.Suffix(probe.Request, rule.Names, out var suffix);
            var variantKey = keyed ? Variants.Key(key, rule.Generation, suffix) : null;
            vary = new InspectVary(rule.Names, rule.Variants.Count, keyed ? Selected(rule.Names, suffix) : null);
            found = variantKey is null ? null : await store.GetAsync(variantKey, CancellationToken.None);
            entryKey = variantKey ?? key;
        }
        if (found is null || VaryRule.IsRule(found))
        {
            var last = notStored.Find(key);
            await WriteAsync(context, new InspectResult(url.ToString(), hash, false)
            {
                GraphQL = operation is { } o ? new InspectGraphQL(o.OperationName) : null,
                Vary = vary,
                LastNotStored = last is { } l ? new InspectNotStored(l.Reason, l.At) : null,
            });
            return;
        }
        await WriteAsync(context, Describe(url, hash, key, entryKey, found, vary, operation is { } op ? new InspectGraphQL(op.OperationName) : null));
    }

    private InspectResult Describe(Uri url, string hash, string primaryKey, string entryKey, CacheEntry entry, InspectVary? vary, InspectGraphQL? graphql)
    {
        var current = options.Current;
        var now = time.GetUtcNow();
        var inMemory = memory.TryGetStored(entryKey, out var held);
        var policy = StoredPolicy.Of(entry, current);
        var age = policy.CurrentAge(entry, now);
        var verdict = ledger.Check(primaryKey, entry, held?.FilledHere ?? false, out var staleSince);
        return new InspectResult(url.ToString(), hash, true)
        {
            Tier = inMemory ? "memory" : "shared",
            GraphQL = graphql,
            Vary = vary,
            Status = entry.StatusCode,
            Bytes = entry.BodyLength,
            ContentType = entry.GetHeader(HeaderNames.ContentType).ToString(),
            ContentEncoding = NullIfEmpty(entry.GetHeader(HeaderNames.ContentEncoding)),
            ContentRange = NullIfEmpty(entry.GetHeader(HeaderNames.ContentRange)),
            StoredAt = entry.ResponseTime,
            AgeSeconds = (long)age.TotalSeconds,
            LifetimeSeconds = (long)policy.Lifetime.TotalSeconds,
            LifetimeFrom = LifetimeSource(entry, current),
            Fresh = policy.Lifetime > age && verdict == Verdict.Valid,
            StaleWhileRevalidateSeconds = policy.StaleWhileRevalidate >= 0 ? policy.StaleWhileRevalidate : null,
            StaleIfErrorSeconds = policy.StaleIfError >= 0 ? policy.StaleIfError : null,
            NoStaleServing = policy.NoStaleServing,
            NoCache = policy.NoCache,
            ETag = NullIfEmpty(policy.ETag),
            LastModified = NullIfEmpty(policy.LastModified),
            Tags = entry.Tags,
            Purged = verdict switch
            {
                Verdict.Gone => "hard: served as a miss",
                Verdict.Stale => $"soft, at {staleSince:O}: stale from then on",
                _ => null,
            },
        };
    }

    /// <summary>Where the freshness lifetime came from (RFC 9111 §4.2.1), as <see cref="Freshness"/> decides it.</summary>
    private static string LifetimeSource(CacheEntry entry, CacheProxyOptions options)
    {
        if (entry.FreshnessOverride is not null)
        {
            return "route Ttl (CacheProxy:Routes:{id}:Ttl) or a cache policy";
        }
        var headers = CacheHeaders.From(entry, options.Targeted);
        var cc = Freshness.Governing(headers, options.Targeted, out var field);
        Freshness.Lifetime(headers, cc, entry.StatusCode, entry.ResponseTime, options.HeuristicFraction, options.HeuristicMaxLifetime, out var fromExpires, out _);
        return cc.SharedMaxAge != CacheControl.Absent ? $"s-maxage ({field})"
            : cc.MaxAge != CacheControl.Absent ? $"max-age ({field})"
            : fromExpires ? "Expires"
            : "heuristic (a fraction of the time since Last-Modified, CacheProxy:HeuristicFraction)";
    }

    /// <summary>The variant's secondary key as a person reads it: <c>accept-encoding: br; accept-language: (absent)</c>.</summary>
    private static string Selected(IReadOnlyList<string> names, string suffix) =>
        string.Join("; ", names.Zip(suffix.Split(CacheKey.FieldSeparator), (name, value) => $"{name}: {(value == CacheKey.AbsentValue ? "(absent)" : value)}"));

    private static string? NullIfEmpty(StringValues value) => StringValues.IsNullOrEmpty(value) ? null : value.ToString();

    private static Task WriteAsync(HttpContext context, InspectResult body)
    {
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsJsonAsync(body, ManagementJson.Options, context.RequestAborted);
    }

    private Task BadRequestAsync(HttpContext context, string field, string reason) =>
        errors.WriteProblemAsync(context, new CacheProxyErrorFeature(CacheProxyError.BadRequest, ErrorCategory.Client, null), $"{field}: {reason}",
            new Dictionary<string, object?> { ["field"] = field });
}
