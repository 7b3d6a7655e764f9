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
        management.ServiceProvider.GetRequiredService<WarmEndpoint>().Map(management);
    }
}
