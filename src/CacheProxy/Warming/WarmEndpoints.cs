using CacheProxy.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Warming;

/// <summary><c>GET</c>, <c>POST</c> and <c>DELETE /warm</c> on the management plane.</summary>
internal sealed class WarmEndpoints : IManagementEndpointProvider
{
    public void MapEndpoints(IEndpointRouteBuilder management)
    {
        var warm = management.ServiceProvider.GetRequiredService<WarmEndpoint>();
        management.MapGet("/warm", warm.GetAsync);
        management.MapPost("/warm", warm.PostAsync);
        management.MapDelete("/warm", warm.DeleteAsync);
    }
}
