using System.Globalization;
using CacheProxy.Storage;
using CacheProxy.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CacheProxy.Tests.Security;

/// <summary>
/// MaxVariantsPerUrl holds under concurrent clients, dropped variants leave the memory tier, and values sent once
/// (junk in a Vary'd field) cannot push out the variants clients use (<c>CacheWriter</c>).
/// </summary>
public sealed class VariantBoundsTests
{
    private const int Max = 8;

    private static Task VaryOnXV(HttpContext c)
    {
        c.Response.Headers.CacheControl = "max-age=600";
        c.Response.Headers.Vary = "X-V";
        return c.Response.WriteAsync("for " + c.Request.Headers["X-V"]);
    }

    /// <summary>How many of <paramref name="values"/> are stored: asked with only-if-cached, which stores nothing.</summary>
    private static async Task<int> StoredAsync(ProxyFixture proxy, IEnumerable<string> values)
    {
        var hits = 0;
        foreach (var value in values)
        {
            var response = await proxy.GetAsync("/v", ("X-V", value), ("Cache-Control", "only-if-cached"));
            if (response.IsSuccessStatusCode)
            {
                Assert.Equal("for " + value, await response.Content.ReadAsStringAsync());
                hits++;
            }
        }
        return hits;
    }

    [Fact]
    public async Task SixtyFourConcurrentValues_LeaveAtMostMaxVariants_InTheRuleAndInTheMemoryTier()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = Max);
        proxy.Origin.Handler = VaryOnXV;
        await proxy.GetAsync("/v", ("X-V", "first")); // the rule is known: each value is then fetched on its own key
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        proxy.Origin.Handler = async c =>
        {
            await release.Task;
            await VaryOnXV(c);
        };
        var values = Enumerable.Range(0, 64).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();

        var requests = values.Select(v => proxy.GetAsync("/v", ("X-V", v))).ToArray();
        await Signal.WaitUntilAsync(() => proxy.Origin.Calls == 1 + values.Length); // all 64 fetches under way
        release.SetResult();
        await Task.WhenAll(requests);

        // The rule and its variants, no unlisted variant left behind in memory.
        Assert.Equal(Max + 1, proxy.Services.GetRequiredService<MemoryCacheStore>().Count);
        Assert.Equal(Max, await StoredAsync(proxy, values.Append("first")));
    }

    [Fact]
    public async Task ValuesSentOnce_DoNotPushOutTheVariantsClientsUse()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = Max);
        proxy.Origin.Handler = VaryOnXV;
        string[] used = ["en", "de", "fr"];
        foreach (var value in used)
        {
            await proxy.GetAsync("/v", ("X-V", value));
            await proxy.GetAsync("/v", ("X-V", value)); // a client uses it again
        }

        foreach (var junk in Enumerable.Range(0, 100))
        {
            await proxy.GetAsync("/v", ("X-V", "junk-" + junk.ToString(CultureInfo.InvariantCulture)));
        }

        Assert.Equal(used.Length, await StoredAsync(proxy, used));
        Assert.Equal(Max + 1, proxy.Services.GetRequiredService<MemoryCacheStore>().Count);
    }

    [Fact]
    public async Task AFloodOfOneOffValues_BetweenTheRequestsForUsedVariants_DoesNotKeepPushingThemOut()
    {
        // Between two requests for a used variant come more junk values than MaxVariantsPerUrl: the used variant is
        // pushed out before it is asked for again, so "asked for again" alone never protects it. Its fetches count.
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = Max);
        proxy.Origin.Handler = VaryOnXV;
        string[] used = ["en", "de", "fr"];
        var junk = 0;
        var hitsFromRoundThree = 0;

        for (var round = 1; round <= 6; round++)
        {
            foreach (var value in used)
            {
                var response = await proxy.GetAsync("/v", ("X-V", value));
                Assert.Equal("for " + value, await response.Content.ReadAsStringAsync());
                hitsFromRoundThree += round >= 3 && response.CacheStatus().StartsWith("CacheProxy; hit", StringComparison.Ordinal) ? 1 : 0;
            }
            for (var i = 0; i < 2 * Max; i++)
            {
                await proxy.GetAsync("/v", ("X-V", "junk-" + (junk++).ToString(CultureInfo.InvariantCulture)));
            }
        }

        Assert.Equal(4 * used.Length, hitsFromRoundThree); // 0 when the oldest variant nobody reused went first
        Assert.True(proxy.Services.GetRequiredService<MemoryCacheStore>().Count <= Max + 1);
    }

    [Fact]
    public async Task AOneOffValue_IsNotStored_WhenEveryStoredVariantIsInUse()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = 2);
        proxy.Origin.Handler = VaryOnXV;
        using var notAdmitted = proxy.Collect<long>("cacheproxy.variants.not_admitted");
        foreach (var value in new[] { "en", "de" })
        {
            await proxy.GetAsync("/v", ("X-V", value));
            await proxy.GetAsync("/v", ("X-V", value)); // in use
        }

        var once = await proxy.GetAsync("/v", ("X-V", "junk"));

        Assert.Equal("for junk", await once.Content.ReadAsStringAsync()); // answered, not kept
        Assert.Equal(2, await StoredAsync(proxy, ["en", "de", "junk"]));
        Assert.Single(notAdmitted.GetMeasurementSnapshot());
        Assert.Contains(proxy.Logs.GetSnapshot(), r => r.Id.Name == "ResponseNotStored" && r.Message.Contains("MaxVariantsPerUrl", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewVaryRule_TakesTheOldRulesVariantsOutOfMemory()
    {
        await using var proxy = await ProxyFixture.StartAsync(o => o.MaxVariantsPerUrl = Max);
        proxy.Origin.Handler = VaryOnXV;
        foreach (var value in new[] { "a", "b", "c" })
        {
            await proxy.GetAsync("/v", ("X-V", value));
        }
        var memory = proxy.Services.GetRequiredService<MemoryCacheStore>();
        Assert.Equal(4, memory.Count);

        proxy.Origin.Handler = c =>
        {
            c.Response.Headers.CacheControl = "max-age=600";
            c.Response.Headers.Vary = "X-W";
            return c.Response.WriteAsync("new rule");
        };
        await proxy.GetAsync("/v", ("X-V", "d"));

        Assert.Equal(2, memory.Count); // the new rule and its one variant; a, b and c are unreachable and gone
    }
}
