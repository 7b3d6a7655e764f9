using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Management;

/// <summary>
/// How a refused management call is answered — 404 on the wrong port (the endpoint does not exist there), 403 from a
/// network that is not allowed, 401 without a valid key (<c>WWW-Authenticate: Bearer</c>, and Basic for a browser), 429 after too many failed
/// attempts — each as problem+json (but the 404), logged as a security event (<c>ManagementCallRefused</c>, never the
/// key) and counted (<c>cacheproxy.management.refused</c>). The API-key scheme's challenge and forbid answer with it
/// (<see cref="ApiKeyAuthenticationHandler"/>): ASP.NET Core's authorization middleware, and whatever
/// <see cref="Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler"/> the app has, ask the policy's
/// scheme to challenge or forbid, so nothing of the app's authorization handling is replaced.
/// </summary>
internal sealed class ManagementRefusals(ErrorShaping errors, ManagementRateLimiter limiter, CacheProxyMetrics metrics, ILoggerFactory loggers)
{
    private readonly ILogger _security = loggers.CreateLogger(LogCategories.Security);

    /// <summary>Answers the refused call <see cref="ManagementAccessHandler"/> recorded; false when it recorded none (not a refused management call).</summary>
    public bool TryAnswer(HttpContext context, out Task answered)
    {
        answered = Task.CompletedTask;
        if (context.Items[ManagementAccessRequirement.RefusalItem] is not Refusal refusal)
        {
            return false;
        }
        answered = AnswerAsync(context, refusal);
        return true;
    }

    private Task AnswerAsync(HttpContext context, Refusal refusal)
    {
        if (refusal is Refusal.WrongKey && !limiter.Failed(context)) // no key at all is the sign-in handshake: not a failure
        {
            refusal = Refusal.RateLimited; // this failure was one too many
        }
        Log.ManagementCallRefused(_security, context.Request.Method, context.Request.Path.Value ?? string.Empty,
            context.Connection.RemoteIpAddress?.ToString(), context.Connection.LocalPort, Describe(refusal));
        metrics.RefusedManagementCalls.Add(1, new KeyValuePair<string, object?>("reason", Tag(refusal)));
        if (refusal != Refusal.NoKey)
        {
            // A call without any key is the sign-in handshake (a browser asks first without credentials): refused and
            // counted above, but no error of the gateway's. A wrong key, a network, a port are.
            metrics.Error(ErrorCategory.Security);
        }
        switch (refusal)
        {
            case Refusal.WrongPort:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            case Refusal.Network:
                return Problem(context, CacheProxyError.Forbidden);
            case Refusal.RateLimited:
                return Problem(context, CacheProxyError.TooManyAttempts, new KeyValuePair<string, string>(HeaderNames.RetryAfter, "60"));
            default:
                return Problem(context, CacheProxyError.Unauthorized,
                    [.. ApiKeyAuthenticationHandler.Challenges.Select(challenge => new KeyValuePair<string, string>(HeaderNames.WWWAuthenticate, challenge!))]);
        }
    }

    private Task Problem(HttpContext context, CacheProxyError error, params KeyValuePair<string, string>[] headers) =>
        errors.WriteProblemAsync(context, new CacheProxyErrorFeature(error, ErrorCategory.Security, null), headers: headers);

    private static string Describe(Refusal refusal) => refusal switch
    {
        Refusal.WrongPort => "not the management port",
        Refusal.Network => "address not in CacheProxy:Management:AllowedNetworks",
        Refusal.RateLimited => "too many failed attempts",
        Refusal.NoKey => "no API key",
        _ => "wrong API key",
    };

    private static string Tag(Refusal refusal) => refusal switch
    {
        Refusal.WrongPort => "wrong_port",
        Refusal.Network => "network",
        Refusal.RateLimited => "rate_limited",
        Refusal.NoKey => "no_key",
        _ => "wrong_key",
    };
}
