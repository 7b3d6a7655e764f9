namespace CacheProxy.Gateway;

/// <summary>
/// <c>CacheProxy.Gateway probe live|ready</c>: asks the running gateway's management endpoint for its health and exits 0
/// when it answers 2xx, 1 otherwise. It reads the same configuration as the gateway, so it finds the management port
/// wherever it was moved. For a container health check in an image without curl (docs/operations/deploy.md).
/// </summary>
internal static class HealthProbe
{
    public static async Task<int> RunAsync(IConfiguration configuration, string[] args)
    {
        var check = args.Length > 1 ? args[1] : "live";
        if (check is not ("live" or "ready"))
        {
            await Console.Error.WriteLineAsync($"usage: CacheProxy.Gateway probe [live|ready] (not '{check}')");
            return 2;
        }
        if (GatewayConfiguration.ManagementUrl(configuration) is not { } management)
        {
            await Console.Error.WriteLineAsync("probe: no management endpoint (Kestrel:Endpoints:Management:Url) is configured");
            return 1;
        }
        var target = new UriBuilder(management) { Path = "/health/" + check };
        // A wildcard endpoint listens on every address, loopback included; loopback is in the default allow-list.
        if (target.Host is "localhost" or "0.0.0.0" or "[::]")
        {
            target.Host = "127.0.0.1";
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var request = new HttpRequestMessage(HttpMethod.Get, target.Uri);
        if (configuration.GetValue<bool>("CacheProxy:Management:RequireApiKeyForHealth")
            && configuration.GetSection("CacheProxy:Management:ApiKeys").GetChildren().FirstOrDefault()?.Value is { Length: > 0 } key)
        {
            request.Headers.Authorization = new("Bearer", key);
        }
        try
        {
            using var response = await client.SendAsync(request);
            Console.WriteLine($"{(int)response.StatusCode} {target.Uri} {await response.Content.ReadAsStringAsync()}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"probe: {target.Uri} did not answer: {e.Message}");
            return 1;
        }
    }
}
