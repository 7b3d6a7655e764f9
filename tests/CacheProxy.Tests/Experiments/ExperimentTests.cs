using System.Net;
using CacheProxy.Configuration;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Experiments;

/// <summary>A/B experiments through the real gateway: assignment, stickiness, distribution, weight changes, junk cookies, keys and metrics (docs/experiments.md).</summary>
public sealed class ExperimentTests
{
    private const string Cookie = "cp_exp_checkout";

    private static void Checkout(CacheProxyOptions o, params (string Bucket, int Weight)[] buckets)
    {
        var experiment = o.Experiments["checkout"] = new ExperimentOptions();
        foreach (var (bucket, weight) in buckets.Length == 0 ? [("a", 50), ("b", 50)] : buckets)
        {
            experiment.Buckets[bucket] = weight;
        }
        (o.Routes["all"] = new RouteCacheOptions()).Experiments.Add("checkout");
    }

    /// <summary>An origin whose page says which bucket it was asked for, and what cookies reached it.</summary>
    private static void BucketPage(ProxyFixture proxy) => proxy.Origin.Handler = c =>
    {
        c.Response.Headers.CacheControl = "max-age=60";
        return c.Response.WriteAsync($"bucket={c.Request.Headers["CacheProxy-Experiment-checkout"]}; cookie={c.Request.Headers.Cookie}");
    };

    private static string? SetCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.Single() : null;

    /// <summary>The <c>name=value</c> part of a Set-Cookie, as a browser sends it back.</summary>
    private static string Returned(string setCookie) => setCookie[..setCookie.IndexOf(';')];

    private static string BucketOf(string setCookie) => Returned(setCookie)[(Cookie.Length + 1)..].Split('.')[0];

    [Fact]
    public async Task ANewVisitor_GetsABucket_ThatStaysWithItsCookie_AndTheOriginSeesTheBucketNotTheCookie()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o));
        BucketPage(proxy);

        var first = await proxy.GetAsync("/page");
        var setCookie = SetCookie(first)!;
        var bucket = BucketOf(setCookie);
        var again = await proxy.GetAsync("/other-page", ("Cookie", Returned(setCookie) + "; theme=dark"));

        Assert.Matches("^cp_exp_checkout=(a|b)\\.[0-9a-f]{16}; max-age=2592000; path=/; secure; samesite=lax; httponly$", setCookie);
        Assert.Equal($"bucket={bucket}; cookie=", await first.Content.ReadAsStringAsync());
        Assert.Contains("private", first.Headers.CacheControl!.ToString()); // nobody further down keeps one visitor's cookie
        Assert.Contains("Cookie", first.Headers.Vary);
        Assert.Null(SetCookie(again)); // sticky: nothing to change
        Assert.Equal($"bucket={bucket}; cookie=theme=dark", await again.Content.ReadAsStringAsync()); // the experiment's cookie stays at the gateway
        Assert.Contains("Cookie", again.Headers.Vary);
    }

    [Fact]
    public async Task VisitorsOfOneBucket_ShareItsEntry_AndTheOtherBucketHasItsOwn()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o));
        BucketPage(proxy);
        var cookies = new Dictionary<string, List<string>> { ["a"] = [], ["b"] = [] };
        while (cookies.Values.Any(c => c.Count < 2))
        {
            var setCookie = SetCookie(await proxy.GetAsync("/visitors"))!; // a new visitor each time
            cookies[BucketOf(setCookie)].Add(Returned(setCookie));
        }
        var callsBefore = proxy.Origin.Calls;

        var a = await proxy.GetAsync("/shared", ("Cookie", cookies["a"][0]));
        var otherA = await proxy.GetAsync("/shared", ("Cookie", cookies["a"][1]));
        var b = await proxy.GetAsync("/shared", ("Cookie", cookies["b"][0]));
        var otherB = await proxy.GetAsync("/shared", ("Cookie", cookies["b"][1]));

        Assert.StartsWith("CacheProxy; hit", otherA.CacheStatus());
        Assert.StartsWith("CacheProxy; hit", otherB.CacheStatus());
        Assert.Equal("bucket=a; cookie=", await otherA.Content.ReadAsStringAsync());
        Assert.Equal("bucket=b; cookie=", await otherB.Content.ReadAsStringAsync());
        Assert.Equal(callsBefore + 2, proxy.Origin.Calls);
        Assert.DoesNotContain("hit", b.CacheStatus());
        Assert.DoesNotContain("hit", a.CacheStatus());
    }

    [Fact]
    public async Task TenThousandVisitors_AreSpreadByTheWeights()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o, ("a", 50), ("b", 30), ("c", 20)));
        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            return c.Response.WriteAsync("page");
        };
        var counts = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0, ["c"] = 0 };

        for (var i = 0; i < 10_000; i++)
        {
            counts[BucketOf(SetCookie(await proxy.GetAsync("/spread"))!)]++;
        }

        // Five standard deviations of a binomial over 10,000 visitors is at most 2.5 points: a test that fails by chance once in millions of runs.
        Assert.InRange(counts["a"], 4_750, 5_250);
        Assert.InRange(counts["b"], 2_750, 3_250);
        Assert.InRange(counts["c"], 1_750, 2_250);
        Assert.True(proxy.Origin.Calls <= 3, $"one fetch per bucket, {proxy.Origin.Calls} made");
    }

    [Fact]
    public async Task ChangingTheWeights_MovesOnlyTheVisitorsItMust_AndTellsThemByCookie()
    {
        var configuration = new ReloadableConfiguration(Weights(50, 50));
        await using var proxy = await ProxyFixture.StartAsync(
            features: b => b.Services.AddOptions<CacheProxyOptions>().Bind(configuration.Root.GetSection("CacheProxy")));
        var visitors = new List<(string Cookie, string Bucket)>();
        for (var i = 0; i < 2_000; i++)
        {
            var setCookie = SetCookie(await proxy.GetAsync("/weights"))!;
            visitors.Add((Returned(setCookie), BucketOf(setCookie)));
        }

        configuration.Reload(Weights(70, 30));
        var moves = new List<(string From, string To)>();
        foreach (var (cookie, bucket) in visitors)
        {
            var response = await proxy.GetAsync("/weights", ("Cookie", cookie));
            if (SetCookie(response) is { } moved)
            {
                moves.Add((bucket, BucketOf(moved)));
            }
        }

        Assert.All(moves, m => Assert.Equal(("b", "a"), m)); // a grew: nobody leaves it, and only b's visitors move
        // b falling from 50 to 30 moves 40 % of its visitors: 20 % of all, here 400 of 2,000 (5σ ≈ 90).
        Assert.InRange(moves.Count, 310, 490);

        static Dictionary<string, string?> Weights(int a, int b) => new()
        {
            ["CacheProxy:Experiments:checkout:Buckets:a"] = a.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CacheProxy:Experiments:checkout:Buckets:b"] = b.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CacheProxy:Routes:all:Experiments:0"] = "checkout",
        };
    }

    [Theory]
    [InlineData("<script>alert(1)</script>")]
    [InlineData("a.not-hex-digits!")]
    [InlineData("a")]
    [InlineData("")]
    [InlineData("a.0123456789abcdef0123")]
    public async Task ACookieValueThatIsNoBucket_IsReassigned_NeverKeyedRaw(string junk)
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o));
        BucketPage(proxy);
        using var assignments = proxy.Collect<long>("cacheproxy.experiment.assignments");

        var response = await proxy.GetAsync("/junk", ("Cookie", $"{Cookie}={junk}"));

        var setCookie = SetCookie(response)!;
        Assert.Matches("^cp_exp_checkout=(a|b)\\.[0-9a-f]{16};", setCookie);
        Assert.Equal($"bucket={BucketOf(setCookie)}; cookie=", await response.Content.ReadAsStringAsync());
        Assert.Contains(assignments.GetMeasurementSnapshot(), m => Equals(m.Tags["outcome"], "reassigned"));
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ExperimentCookieReassigned");
    }

    [Fact]
    public async Task ABucketNameThatIsNotTheSeedsBucket_IsCorrected_FromTheSeed()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o));
        BucketPage(proxy);
        var setCookie = SetCookie(await proxy.GetAsync("/forged"))!;
        var seed = Returned(setCookie).Split('.')[1];
        var bucket = BucketOf(setCookie);

        var forged = await proxy.GetAsync("/forged", ("Cookie", $"{Cookie}=zzz.{seed}"));

        Assert.Equal($"bucket={bucket}; cookie=", await forged.Content.ReadAsStringAsync());
        Assert.Equal($"{Cookie}={bucket}.{seed}", Returned(SetCookie(forged)!));
    }

    [Fact]
    public async Task AClientSentBucketHeader_IsReplaced()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o));
        BucketPage(proxy);

        var response = await proxy.GetAsync("/header", ("CacheProxy-Experiment-checkout", "c"));

        Assert.Matches("^bucket=(a|b); ", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RequestsAndHits_AreCountedPerBucket()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => Checkout(o, ("a", 100), ("b", 0)));
        BucketPage(proxy);
        using var requests = proxy.Collect<long>("cacheproxy.requests");

        var setCookie = SetCookie(await proxy.GetAsync("/counted"))!;
        await proxy.GetAsync("/counted", ("Cookie", Returned(setCookie)));

        requests.RecordObservableInstruments(); // cumulative counts by route, cache status and dimension
        var measured = requests.GetMeasurementSnapshot();
        Assert.Contains(measured, m => Equals(m.Tags["experiment"], "checkout=a") && Equals(m.Tags["cache_status"], "miss") && m.Value == 1);
        Assert.Contains(measured, m => Equals(m.Tags["experiment"], "checkout=a") && Equals(m.Tags["cache_status"], "hit") && m.Value == 1);
    }

    [Fact]
    public async Task WeightsThatDoNotAddUpTo100_AndAnUnknownExperiment_AreRefusedAtStartup_WithTheirKeys()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ProxyFixture.StartAsync(o =>
        {
            Checkout(o, ("a", 60), ("b", 30));
            o.Routes["all"].Experiments.Add("missing");
        }));

        Assert.Contains("CacheProxy:Experiments:checkout:Buckets must add up to 100 (was 90)", error.Message, StringComparison.Ordinal);
        Assert.Contains("CacheProxy:Routes:all:Experiments names missing, which CacheProxy:Experiments does not have", error.Message, StringComparison.Ordinal);
    }
}
