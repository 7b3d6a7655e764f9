using CacheProxy.Caching;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using CacheProxy.Draining;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CacheProxy.Hosting;

/// <summary>
/// First in the pipeline, on every request, before routing: while the instance drains, makes every response close its
/// connection (<see cref="GracefulDrain"/>, with <c>AddGracefulDrain</c>); when <see cref="CacheProxyOptions.ServeHitsBeforeRouting"/> is on, answers
/// the fresh hits <see cref="EarlyHits"/> allows, exactly as <see cref="CacheProxyMiddleware"/> would after routing
/// (correlation id, Cache-Status, Age, metrics). Every other request passes on untouched.
/// </summary>
internal sealed class BeforeRoutingMiddleware(RequestDelegate next, CacheEngine engine, CorrelationIds correlation,
    ErrorShaping errors, LastGoodOptions options, GracefulDrain? drain = null)
{
    public Task InvokeAsync(HttpContext context)
    {
        drain?.CloseConnectionWhileDraining(context.Response);
        var settings = options.Current;
        if (!settings.ServeHitsBeforeRouting || context.Connection.LocalPort == settings.Management.Port)
        {
            return next(context);
        }
        var prepared = engine.TryPrepareBeforeRoutingAsync(context);
        if (!prepared.IsCompletedSuccessfully)
        {
            return PreparedAsync(prepared, context);
        }
        return prepared.Result is { } hit ? Serve(context, hit) : next(context);
    }

    private async Task PreparedAsync(ValueTask<CacheContext?> prepared, HttpContext context) =>
        await (await prepared is { } hit ? Serve(context, hit) : next(context));

    private Task Serve(HttpContext context, CacheContext hit)
    {
        correlation.Assign(context);
        return errors.Observe(context, engine.ServeFreshHit(hit));
    }
}

/// <summary>Puts <see cref="BeforeRoutingMiddleware"/> in front of everything the app's pipeline holds, routing included.</summary>
internal sealed class BeforeRoutingStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<BeforeRoutingMiddleware>();
        next(app);
    };
}
