using System.Reflection;
using System.Text.RegularExpressions;
using CacheProxy.Tests.Gateway;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Tests.Diagnostics;

/// <summary>One list of event ids across the packages: every event uses its entry, no id twice, every one documented.</summary>
public sealed class EventIdsTests
{
    private static IEnumerable<LoggerMessageAttribute> Events() =>
        new[] { typeof(CacheProxy.CacheProxyTelemetry).Assembly, typeof(CacheProxy.Configuration.RedisOptions).Assembly, typeof(CacheProxy.Configuration.ImageTransformOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>();

    [Fact]
    public void EveryEvent_TakesItsIdFromTheOneList_AndNoIdIsUsedTwice()
    {
        var events = Events().ToList();
        var list = typeof(CacheProxy.CacheProxyTelemetry).Assembly.GetType("CacheProxy.Diagnostics.EventIds")!
            .GetFields().ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

        Assert.True(events.Count > 25, $"found {events.Count} events");
        Assert.All(events, e => Assert.Equal(list[e.EventName!], e.EventId));
        Assert.Equal(events.Count, events.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(list.Count, list.Values.Distinct().Count());
        Assert.Equal(list.Keys.Order(), events.Select(e => e.EventName!).Order()); // no entry without its event
    }

    [Fact]
    public void EveryEvent_IsInTheObservabilityDocs()
    {
        var docs = File.ReadAllText(Path.Combine(OperationsDocsTests.RepoRoot(), "docs", "observability.md"));

        Assert.All(Events(), e => Assert.Matches(new Regex($@"\| {e.EventId} \| {e.EventName} \|"), docs));
    }
}
