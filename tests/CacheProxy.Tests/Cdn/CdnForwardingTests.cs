using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CacheProxy.Cdn;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using CacheProxy.Tests.Invalidation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CacheProxy.Tests.Cdn;

/// <summary>Purges forwarded to CDN APIs (WireMock.Net as Fastly, Cloudflare and a webhook), through the real gateway on one instance.</summary>
public sealed class CdnForwardingTests
{
    internal const string Token = "cdn-token-0123456789-SECRET-abcdef";
    internal const string Secret = "webhook-secret-0123456789-SIGNING";

    internal static Task<ProxyFixture> GatewayAsync(WireMockServer api, CdnProviderType type, Action<CacheProxyOptions>? configure = null) =>
        ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            o.Cdn.Providers["edge"] = type switch
            {
                CdnProviderType.Fastly => new CdnProviderOptions { Type = type, Url = api.Url, Token = Token, ServiceId = "svc-1" },
                CdnProviderType.Cloudflare => new CdnProviderOptions { Type = type, Url = api.Url, Token = Token, ZoneId = "zone-1" },
                _ => new CdnProviderOptions { Type = type, Url = api.Url + "/hook", Token = Token, Secret = Secret },
            };
            configure?.Invoke(o);
        }, mapManagement: true);

    internal static async Task<JsonElement> PurgeAsync(ProxyFixture gateway, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await PurgeTests.PurgeAsync(gateway.Client, "/purge", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    internal static async Task<JsonElement> ForwardingAsync(ProxyFixture gateway, string path = "/purge/forwarding")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", PurgeTests.Key);
        using var response = await gateway.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    internal static string StateOf(JsonElement forwarding) => forwarding.GetProperty("providers")[0].GetProperty("state").GetString()!;

    /// <summary>
    /// Moves a gateway's clock for its CDN forwarder: the backoff runs on that clock, and an attempt's timeout too (a
    /// clock moved during an attempt would time it out). Create it before the first purge.
    /// </summary>
    internal sealed class ForwarderClock(ProxyFixture gateway) : IDisposable
    {
        private readonly Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long> _active = gateway.Collect<long>("cacheproxy.cdn.deliveries.active");
        private readonly Microsoft.Extensions.Diagnostics.Metrics.Testing.MetricCollector<long> _attempts = gateway.Collect<long>("cacheproxy.cdn.deliveries");

        /// <summary>
        /// Moves the clock by <paramref name="step"/> while no delivery is under way, until <paramref name="condition"/>
        /// holds: up to <paramref name="stepsPerAttempt"/> times at once after each attempt, then one step per 50 ms
        /// of real time — the forwarder may have parked on a timer made after the quick steps. So the clock cannot run
        /// far past a delivery's give-up time while the forwarder is slow to come back. Call it once the first attempt
        /// is over.
        /// </summary>
        public Task AdvanceUntilAsync(Func<bool> condition, TimeSpan step, int stepsPerAttempt = 4)
        {
            var (seen, steps, last) = (-1, 0, TimeProvider.System.GetTimestamp());
            return Signal.WaitUntilAsync(() =>
            {
                if (condition())
                {
                    return true;
                }
                var attempts = _attempts.GetMeasurementSnapshot().Count;
                if (attempts != seen)
                {
                    (seen, steps) = (attempts, 0);
                }
                if (_active.GetMeasurementSnapshot().Sum(m => m.Value) == 0
                    && (steps < stepsPerAttempt || TimeProvider.System.GetElapsedTime(last) > TimeSpan.FromMilliseconds(50)))
                {
                    gateway.Time.Advance(step);
                    (steps, last) = (steps + 1, TimeProvider.System.GetTimestamp());
                }
                return false;
            });
        }

        public void Dispose()
        {
            _active.Dispose();
            _attempts.Dispose();
        }
    }

    private static WireMock.Logging.ILogEntry[] Calls(WireMockServer api) => [.. api.LogEntries.OrderBy(e => e.RequestMessage.DateTime)];

    [Fact]
    public async Task Fastly_GetsKeysInBatchesOf256_AndUrlsOneByOne_WithItsKeyAndSoftPurge_AfterTheGatewayPurged()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"status\":\"ok\"}"));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Fastly);
        var tags = Enumerable.Range(0, 300).Select(i => $"t{i}").ToArray();

        var answer = await PurgeAsync(gateway, new { urls = new[] { "https://shop.example/a?x=1", "http://shop.example/b" }, tags, soft = true, wait = true });

        var forwarding = answer.GetProperty("forwarding");
        Assert.Equal("delivered", StateOf(forwarding));
        Assert.Equal(1, forwarding.GetProperty("providers")[0].GetProperty("attempts").GetInt32());
        var calls = Calls(api);
        Assert.Equal(4, calls.Length);
        Assert.All(calls, c =>
        {
            Assert.Equal(Token, c.RequestMessage.Headers!["Fastly-Key"].Single());
            Assert.Equal("1", c.RequestMessage.Headers!["Fastly-Soft-Purge"].Single());
        });
        var batches = calls.Where(c => c.RequestMessage.Path == "/service/svc-1/purge").Select(c => c.RequestMessage.Headers!["Surrogate-Key"].Single().Split(' ')).ToList();
        Assert.Equal([256, 44], batches.Select(b => b.Length));
        Assert.Equal(tags, batches.SelectMany(b => b));
        Assert.Contains(calls, c => c.RequestMessage.AbsolutePath == "/purge/shop.example/a%3Fx=1" || c.RequestMessage.Path == "/purge/shop.example/a?x=1");
        Assert.Contains(calls, c => c.RequestMessage.Path == "/purge/shop.example/b");
        Assert.Contains(gateway.Logs.GetSnapshot(), r => r.Id.Name == "CdnDelivered");
    }

    [Fact]
    public async Task Fastly_RefusesPrefixes_AsADeadLetter_AfterDeliveringTheRest()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Fastly);

        var answer = await PurgeAsync(gateway, new { tags = new[] { "a" }, prefixes = new[] { "https://shop.example/cat/" }, wait = true });

        var delivery = answer.GetProperty("forwarding").GetProperty("providers")[0];
        Assert.Equal("failed", delivery.GetProperty("state").GetString());
        Assert.Contains("no purge by prefix", delivery.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Single(Calls(api)); // the key was purged
        var dead = (await ForwardingAsync(gateway)).GetProperty("failed");
        Assert.Equal(answer.GetProperty("forwarding").GetProperty("id").GetString(), Assert.Single(dead.EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Cloudflare_SplitsBatchesByKind_AndAfterA429WaitsItsRetryAfter_ThenGoesOnFromTheRefusedBatch()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost().WithPath("/zones/zone-1/purge_cache").WithBody(b => b!.Contains("\"tags\"", StringComparison.Ordinal)))
            .InScenario("limit").WillSetStateTo("limited")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "120").WithBody("{\"success\":false}"));
        api.Given(Request.Create().UsingPost().WithPath("/zones/zone-1/purge_cache")).AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"success\":true,\"errors\":[],\"result\":{\"id\":\"x\"}}"));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Cloudflare);
        using var clock = new ForwarderClock(gateway);
        var urls = Enumerable.Range(0, 250).Select(i => $"https://shop.example/p/{i}").ToArray();

        var answer = await PurgeAsync(gateway, new { urls, tags = new[] { "a", "b" }, prefixes = new[] { "https://shop.example/cat/" }, soft = true });
        var id = answer.GetProperty("forwarding").GetProperty("id").GetString()!;
        await Signal.WaitUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDeliveryRetried"));
        var waiting = await ForwardingAsync(gateway, $"/purge/forwarding/{id}");
        var refusedAt = gateway.Time.GetUtcNow();
        await clock.AdvanceUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDelivered"), TimeSpan.FromSeconds(10), stepsPerAttempt: 13); // past the Retry-After

        var delivery = waiting.GetProperty("providers")[0];
        Assert.Equal("pending", delivery.GetProperty("state").GetString());
        Assert.Equal(refusedAt + TimeSpan.FromSeconds(120), delivery.GetProperty("nextAttempt").GetDateTimeOffset());
        var bodies = Calls(api).Select(c => JsonDocument.Parse(c.RequestMessage.Body!).RootElement).ToList();
        Assert.All(Calls(api), c => Assert.Equal($"Bearer {Token}", c.RequestMessage.Headers!["Authorization"].Single()));
        var files = bodies.Where(b => b.TryGetProperty("files", out _)).Select(b => b.GetProperty("files").GetArrayLength()).ToList();
        Assert.Equal([100, 100, 50], files); // not sent again after the 429
        Assert.Equal(2, bodies.Count(b => b.TryGetProperty("tags", out _)));
        var prefixes = Assert.Single(bodies, b => b.TryGetProperty("prefixes", out _)).GetProperty("prefixes");
        Assert.Equal("shop.example/cat/", prefixes[0].GetString());
        Assert.Equal("delivered", StateOf(await ForwardingAsync(gateway, $"/purge/forwarding/{id}")));
    }

    [Fact]
    public async Task AProviderThatFailsTwice_GetsThePurgeOnce_OnTheThirdAttempt()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).InScenario("flaky").WillSetStateTo("failed once").RespondWith(Response.Create().WithStatusCode(500));
        api.Given(Request.Create().UsingPost()).InScenario("flaky").WhenStateIs("failed once").WillSetStateTo("failed twice").RespondWith(Response.Create().WithStatusCode(503));
        api.Given(Request.Create().UsingPost()).InScenario("flaky").WhenStateIs("failed twice").WillSetStateTo("ok").RespondWith(Response.Create().WithStatusCode(200));
        api.Given(Request.Create().UsingPost()).InScenario("flaky").WhenStateIs("ok").RespondWith(Response.Create().WithStatusCode(200));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook);
        using var clock = new ForwarderClock(gateway);

        var answer = await PurgeAsync(gateway, new { tags = new[] { "product-42" } });
        var id = answer.GetProperty("forwarding").GetProperty("id").GetString()!;
        await gateway.WaitForLogAsync("CdnDeliveryRetried");
        await clock.AdvanceUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDelivered"), TimeSpan.FromMilliseconds(500), stepsPerAttempt: 8);

        var calls = Calls(api);
        Assert.Equal([500, 503, 200], calls.Select(c => (int)c.ResponseMessage.StatusCode!));
        Assert.Equal(2, gateway.Logs.GetSnapshot().Count(r => r.Id.Name == "CdnDeliveryRetried"));
        var delivery = (await ForwardingAsync(gateway, $"/purge/forwarding/{id}")).GetProperty("providers")[0];
        Assert.Equal("delivered", delivery.GetProperty("state").GetString());
        Assert.Equal(3, delivery.GetProperty("attempts").GetInt32());
        Assert.Single(calls.Select(c => c.RequestMessage.Headers!["CacheProxy-Purge-Id"].Single()).Distinct()); // one id: an idempotency key
    }

    [Fact]
    public async Task Webhook_PostsTheDocumentedBody_SignedWithTheSecret()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost().WithPath("/hook")).RespondWith(Response.Create().WithStatusCode(204));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook);

        var answer = await PurgeAsync(gateway, new { urls = new[] { "https://shop.example/a" }, prefixes = new[] { "https://shop.example/b/" }, soft = true, wait = true });

        Assert.Equal("delivered", StateOf(answer.GetProperty("forwarding")));
        var call = Assert.Single(Calls(api)).RequestMessage;
        var body = JsonDocument.Parse(call.Body!).RootElement;
        Assert.Equal(answer.GetProperty("forwarding").GetProperty("id").GetString(), body.GetProperty("id").GetString());
        Assert.Equal("https://shop.example/a", body.GetProperty("urls")[0].GetString());
        Assert.Equal("https://shop.example/b/", body.GetProperty("prefixes")[0].GetString());
        Assert.Equal(0, body.GetProperty("tags").GetArrayLength());
        Assert.True(body.GetProperty("soft").GetBoolean());
        Assert.Equal($"Bearer {Token}", call.Headers!["Authorization"].Single());
        var signature = call.Headers!["CacheProxy-Signature"].Single();
        var t = long.Parse(signature.Split(',')[0]["t=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret),
            Encoding.UTF8.GetBytes($"{t}.{call.Body}")));
        Assert.Equal($"t={t},v1={expected}", signature);
    }

    [Fact]
    public async Task AProviderDownForLongerThanGiveUpAfter_BecomesADeadLetter_WithAnEventAndAMetric()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(502));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook, o => o.Cdn.GiveUpAfter = TimeSpan.FromMinutes(1));
        using var clock = new ForwarderClock(gateway);
        using var deliveries = gateway.Collect<long>("cacheproxy.cdn.deliveries");

        await PurgeAsync(gateway, new { tags = new[] { "a" } });
        await gateway.WaitForLogAsync("CdnDeliveryRetried"); // the first attempt, before the clock moves
        await clock.AdvanceUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDeliveryFailed"), TimeSpan.FromSeconds(5));

        var failed = Assert.Single(gateway.Logs.GetSnapshot(), r => r.Id.Name == "CdnDeliveryFailed");
        Assert.Equal(1612, failed.Id.Id);
        Assert.Contains("GiveUpAfter", failed.Message, StringComparison.Ordinal);
        Assert.Contains(deliveries.GetMeasurementSnapshot(), m => m.Tags["outcome"] as string == "failed" && m.Tags["provider"] as string == "edge");
        Assert.Contains(deliveries.GetMeasurementSnapshot(), m => m.Tags["outcome"] as string == "retry"); // retried before it gave up
        var state = await ForwardingAsync(gateway);
        Assert.Empty(state.GetProperty("pending").EnumerateArray());
        Assert.Equal("failed", StateOf(Assert.Single(state.GetProperty("failed").EnumerateArray())));
    }

    [Fact]
    public async Task ARefusal_IsADeadLetterAtOnce_NotRetried()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(403));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Cloudflare);

        var answer = await PurgeAsync(gateway, new { tags = new[] { "a" }, wait = true });

        Assert.Equal("failed", StateOf(answer.GetProperty("forwarding")));
        Assert.Single(Calls(api));
    }

    [Fact]
    public async Task WithoutProviders_APurgeAnswersAsBefore_WithoutForwarding()
    {
        await using var gateway = await ProxyFixture.StartAsync(o => o.Management.ApiKeys["ops"] = PurgeTests.Key, mapManagement: true);

        var answer = await PurgeAsync(gateway, new { tags = new[] { "a" } });

        Assert.False(answer.TryGetProperty("forwarding", out _));
        Assert.Empty((await ForwardingAsync(gateway)).GetProperty("providers").EnumerateArray());
    }

    [Fact]
    public async Task AFullOutbox_Answers503_AndThePurgeStillHoldsOnTheGateway()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(500));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook, o => o.Cdn.MaxPending = 1);

        await PurgeAsync(gateway, new { tags = new[] { "a" } });
        var refused = await PurgeAsync(gateway, new { tags = new[] { "b" } }, HttpStatusCode.ServiceUnavailable);

        Assert.Equal("urn:cacheproxy:error:forwarding-not-queued", refused.GetProperty("type").GetString());
        Assert.Contains(gateway.Logs.GetSnapshot(), r => r.Id.Name == "CdnForwardingNotQueued");
        Assert.Contains(gateway.Logs.GetSnapshot(), r => r.Id.Name == "PurgeApplied" && r.Message.Contains("1 tags", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnsafeMethodInvalidations_AreForwarded_WhenConfigured()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost().WithPath("/hook")).RespondWith(Response.Create().WithStatusCode(200));
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook, o => o.Cdn.ForwardUnsafeInvalidations = true);
        gateway.Origin.Handler = c =>
        {
            c.Response.Headers.Location = "/items/7";
            c.Response.StatusCode = 201;
            return Task.CompletedTask;
        };

        using var created = await gateway.Client.PostAsync("http://shop.example/items", new StringContent("{}"));
        await Signal.WaitUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDelivered"));

        var body = JsonDocument.Parse(Assert.Single(Calls(api)).RequestMessage.Body!).RootElement;
        Assert.Equal(["http://shop.example/items", "http://shop.example/items/7"], body.GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
    }

    [Fact]
    public async Task Credentials_AppearInNoLog_NoAnswer_AndNoManagementPage()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(500));
        // A webhook's URL may carry a credential in its query, as many hook URLs do.
        await using var gateway = await GatewayAsync(api, CdnProviderType.Webhook, o =>
        {
            o.Cdn.GiveUpAfter = TimeSpan.FromSeconds(10);
            o.Cdn.Providers["edge"].Url = api.Url + "/hook?key=" + Secret;
        });
        using var clock = new ForwarderClock(gateway);

        var texts = new List<string> { (await PurgeAsync(gateway, new { tags = new[] { "a" } })).GetRawText() };
        await gateway.WaitForLogAsync("CdnDeliveryRetried");
        await clock.AdvanceUntilAsync(() => gateway.Logs.GetSnapshot().Any(r => r.Id.Name == "CdnDeliveryFailed"), TimeSpan.FromSeconds(2));
        texts.Add((await ForwardingAsync(gateway)).GetRawText());
        foreach (var path in new[] { "/stats", "/inspect?url=http://shop.example/a", "/dashboard" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new("Bearer", PurgeTests.Key);
            using var response = await gateway.Client.SendAsync(request);
            texts.Add(await response.Content.ReadAsStringAsync());
        }
        texts.AddRange(gateway.Logs.GetSnapshot().Select(r => r.Message + " " + string.Join(' ', r.StructuredState?.Select(s => s.Value) ?? [])));

        Assert.All(texts, t =>
        {
            Assert.DoesNotContain(Token, t, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, t, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task ATokenReloads_AndTheNextDeliveryUsesIt()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var configuration = new ReloadableConfiguration(new()
        {
            ["CacheProxy:Management:ApiKeys:ops"] = PurgeTests.Key,
            ["CacheProxy:Cdn:Providers:edge:Type"] = "Webhook",
            ["CacheProxy:Cdn:Providers:edge:Url"] = api.Url + "/hook",
            ["CacheProxy:Cdn:Providers:edge:Token"] = "first-token",
        });
        await using var gateway = await ProxyFixture.StartAsync(mapManagement: true,
            features: b => b.Services.AddOptions<CacheProxyOptions>().Bind(configuration.Root.GetSection("CacheProxy")));

        await PurgeAsync(gateway, new { tags = new[] { "a" }, wait = true });
        configuration.Reload(new()
        {
            ["CacheProxy:Management:ApiKeys:ops"] = PurgeTests.Key,
            ["CacheProxy:Cdn:Providers:edge:Type"] = "Webhook",
            ["CacheProxy:Cdn:Providers:edge:Url"] = api.Url + "/hook",
            ["CacheProxy:Cdn:Providers:edge:Token"] = "second-token",
        });
        await PurgeAsync(gateway, new { tags = new[] { "b" }, wait = true });

        Assert.Equal(["Bearer first-token", "Bearer second-token"], Calls(api).Select(c => c.RequestMessage.Headers!["Authorization"].Single()));
    }

    /// <summary>A provider of the app's own: what it was given, and what it answers.</summary>
    private sealed class RecordingPurger(string name) : ICdnPurger
    {
        public List<CdnPurge> Received { get; } = [];

        public string Name => name;

        public ValueTask<CdnPurgeResult> PurgeAsync(CdnPurge purge, CancellationToken cancellationToken)
        {
            lock (Received)
            {
                Received.Add(purge);
            }
            return new(CdnPurgeResult.Delivered("recorded"));
        }
    }

    [Fact]
    public async Task AProviderRegisteredInDI_GetsEveryPurge_BesideTheConfiguredOnes()
    {
        using var api = WireMockServer.Start();
        api.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200));
        var mine = new RecordingPurger("akamai-fast-purge");
        await using var gateway = await ProxyFixture.StartAsync(o =>
        {
            o.Management.ApiKeys["ops"] = PurgeTests.Key;
            o.Cdn.Providers["edge"] = new CdnProviderOptions { Type = CdnProviderType.Webhook, Url = api.Url + "/hook" };
        }, mapManagement: true, features: b => b.Services.AddSingleton<ICdnPurger>(mine));

        var answer = await PurgeAsync(gateway, new { urls = new[] { "https://shop.example/a" }, tags = new[] { "t" }, soft = true, wait = true });

        var deliveries = answer.GetProperty("forwarding").GetProperty("providers").EnumerateArray().ToDictionary(d => d.GetProperty("provider").GetString()!,
            d => d.GetProperty("state").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["edge"] = "delivered", ["akamai-fast-purge"] = "delivered" }, deliveries);
        var purge = Assert.Single(mine.Received);
        Assert.Equal("https://shop.example/a", Assert.Single(purge.Urls));
        Assert.Equal("t", Assert.Single(purge.Tags));
        Assert.True(purge.Soft);
        var providers = (await ForwardingAsync(gateway)).GetProperty("providers").EnumerateArray().Select(p => p.GetProperty("type").GetString());
        Assert.Equal(["Webhook", nameof(RecordingPurger)], providers);
    }

    [Fact]
    public void Backoff_DoublesWithJitter_UpToTheCap_AndRetryAfterWins()
    {
        var cdn = new CdnOptions { RetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromSeconds(10) };
        var retry = CdnPurgeResult.Retry("500");

        for (var i = 0; i < 50; i++)
        {
            var first = CdnForwarder.Delay(retry, 1, cdn);
            var third = CdnForwarder.Delay(retry, 3, cdn);
            var late = CdnForwarder.Delay(retry, 20, cdn);
            Assert.InRange(first, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1));
            Assert.InRange(third, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
            Assert.InRange(late, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        }
        Assert.Equal(TimeSpan.FromMinutes(20), CdnForwarder.Delay(CdnPurgeResult.Retry("429", TimeSpan.FromMinutes(20)), 1, cdn));
    }
}
