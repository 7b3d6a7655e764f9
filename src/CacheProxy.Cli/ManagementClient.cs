using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using CacheProxy.Management.Client;
using Microsoft.Kiota.Abstractions;

namespace CacheProxy.Cli;

/// <summary>
/// Calls the management API through the client generated from its OpenAPI document (CacheProxy.Management.Client):
/// the generated client builds each request (path, query, body, key); its answer is taken raw (a
/// <see cref="NativeResponseHandler"/>), so the commands print the gateway's JSON as it came — a model written back
/// would drop its null fields. Every way a call can go wrong becomes a <see cref="CliException"/> with a sentence an
/// operator can act on: no connection, no answer in time, not a CacheProxy endpoint, no key or a wrong one, an
/// address not allowed, a request the gateway refused (its problem+json detail).
/// </summary>
internal sealed class ManagementClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly bool _hasKey;

    public ManagementClient(ManagementSettings settings)
    {
        _base = settings.ManagementUrl;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(settings.Timeout) };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("cacheproxy-cli", typeof(ManagementClient).Assembly.GetName().Version?.ToString(3)));
        _hasKey = settings.Key is not null;
        Api = CacheProxyManagement.Create(_base, settings.Key, _http);
    }

    /// <summary>Gets the generated client.</summary>
    public CacheProxyManagementClient Api { get; }

    public Uri Address(string path) => new(_base, _base.AbsolutePath.TrimEnd('/') + path);

    /// <summary>
    /// Makes the call (<paramref name="call"/> adds <paramref name="call"/>'s option, which hands the raw answer back
    /// here) to <paramref name="path"/>: a 2xx answer (and any status in <paramref name="alsoFine"/>) is returned as the
    /// JSON the gateway sent, verbatim, which is what the commands print; anything else throws.
    /// </summary>
    public async Task<JsonElement> CallAsync(string path, Func<CacheProxyManagementClient, IRequestOption, CancellationToken, Task> call,
        CancellationToken cancellationToken, params HttpStatusCode[] alsoFine)
    {
        var url = Address(path);
        var raw = new NativeResponseHandler();
        try
        {
            await call(Api, new ResponseHandlerOption { ResponseHandler = raw }, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            var reason = ex.InnerException is SocketException socket ? socket.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => "connection refused: is the gateway running, and is this its management port?",
                SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "no such host",
                _ => socket.Message,
            } : ex.Message;
            throw new CliException(ExitCodes.Unreachable, $"cannot reach {_base}: {reason}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Unreachable, $"no answer from {_base} within {_http.Timeout.TotalSeconds:0} s (--timeout)");
        }
        using var response = raw.Value as HttpResponseMessage ?? throw new CliException(ExitCodes.Unreachable, $"{url} gave no answer");
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement? json = null;
        try
        {
            json = body.Length == 0 ? null : JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
        }
        if (response.IsSuccessStatusCode || alsoFine.Contains(response.StatusCode))
        {
            return json ?? throw new CliException(ExitCodes.Unreachable, $"{url} answered {(int)response.StatusCode} without JSON: is it a CacheProxy management endpoint?");
        }
        throw Refusal(response, json, url);
    }

    private CliException Refusal(HttpResponseMessage response, JsonElement? problem, Uri url)
    {
        var detail = problem is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()
            : problem is { ValueKind: JsonValueKind.Object } t && t.TryGetProperty("title", out var title) ? title.GetString() : null;
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized when !_hasKey => new CliException(ExitCodes.Refused, $"{url.AbsolutePath} needs an API key: set {ManagementSettings.KeyVariable} or --api-key"),
            HttpStatusCode.Unauthorized => new CliException(ExitCodes.Refused, "the API key was refused: it is none of CacheProxy:Management:ApiKeys"),
            HttpStatusCode.Forbidden => new CliException(ExitCodes.Refused, "this address is not in CacheProxy:Management:AllowedNetworks of the gateway"),
            HttpStatusCode.TooManyRequests => new CliException(ExitCodes.Refused,
                $"too many failed attempts from this address; retry after {response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 60:0} s"),
            HttpStatusCode.NotFound when problem is null => new CliException(ExitCodes.Unreachable,
                $"{url} is not a CacheProxy management endpoint (the public port, or another service?)"),
            _ => new CliException(ExitCodes.Failed, $"the gateway answered {(int)response.StatusCode}: {detail ?? response.ReasonPhrase}"),
        };
    }

    public void Dispose() => _http.Dispose();
}
