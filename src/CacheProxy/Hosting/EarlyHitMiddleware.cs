using CacheProxy.Caching;
using CacheProxy.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace CacheProxy.Hosting;

/// <summary>
/// First in the pipeline: answers the fresh hits <see cref="EarlyHits"/> allows before routing when
/// <see cref="CacheProxyOptions.ServeHitsBeforeRouting"/> is on, exactly as <see cref="CacheProxyMiddleware"/> would
/// after routing (correlation id, Cache-Status, Age, metrics); every other request passes on untouched.
/// </summary>
internal sealed class EarlyHitMiddleware(RequestDelegate next, CacheEngine engine, CorrelationIds correlation,
    ErrorShaping errors, IOptionsMonitor<CacheProxyOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var settings = options.CurrentValue;
        if (!settings.ServeHitsBeforeRouting || !HttpMethods.IsGet(context.Request.Method)
            || context.Connection.LocalPort == settings.Management.Port || !engine.TryFindEarlyHit(context, out var hit))
        {
            return next(context);
        }
        context.SetEndpoint(hit.Endpoint);
        correlation.Assign(context);
        return errors.Observe(context, engine.ServeFreshHit(context, hit));
    }
}

/// <summary>Puts <see cref="EarlyHitMiddleware"/> in front of everything the app's pipeline holds, routing included.</summary>
internal sealed class EarlyHitStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<EarlyHitMiddleware>();
        next(app);
    };
}
