using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using CacheProxy.Configuration;

namespace CacheProxy.Tests.Configuration;

/// <summary>docs/configuration.md has a row for every option of every package, with its type, and says whether it reloads.</summary>
public sealed partial class ConfigurationDocsTests
{
    /// <summary>Every settable option under the three roots, as its configuration key (a dictionary's key as {…}, a list's index as {i}) and type.</summary>
    internal static IEnumerable<(string Key, Type Type)> Options()
    {
        foreach (var option in Walk(typeof(CacheProxyOptions), string.Empty))
        {
            yield return option;
        }
        foreach (var option in Walk(typeof(RedisOptions), "Redis:"))
        {
            yield return option;
        }
        foreach (var option in Walk(typeof(ImageTransformOptions), "Images:"))
        {
            yield return option;
        }
    }

    private static bool IsOptionsClass(Type type) => type.IsClass && type.Namespace == typeof(CacheProxyOptions).Namespace && type != typeof(string);

    private static bool IsDictionary(Type t) => t.IsGenericType
        && (t.GetGenericTypeDefinition() == typeof(IDictionary<,>) || t.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)
            || t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)));

    private static IEnumerable<(string Key, Type Type)> Walk(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var t = property.PropertyType;
            var key = prefix + property.Name;
            if (IsOptionsClass(t))
            {
                foreach (var inner in Walk(t, key + ":"))
                {
                    yield return inner;
                }
            }
            else if (IsDictionary(t) && t.GetGenericArguments() is [var k, var v] && k == typeof(string))
            {
                if (IsOptionsClass(v))
                {
                    foreach (var inner in Walk(v, key + ":{…}:"))
                    {
                        yield return inner;
                    }
                }
                else
                {
                    yield return (key + ":{…}", v);
                }
            }
            else if (t != typeof(string) && typeof(IEnumerable).IsAssignableFrom(t))
            {
                yield return (key + ":{i}", t.IsArray ? t.GetElementType()! : t.GetGenericArguments()[0]);
            }
            else if (property.CanWrite)
            {
                yield return (key, Nullable.GetUnderlyingType(t) ?? t);
            }
        }
    }

    [Fact]
    public void EveryOption_HasARowWithItsType_InDocsConfiguration()
    {
        var docs = File.ReadAllText(Path.Combine(Gateway.OperationsDocsTests.RepoRoot(), "docs", "configuration.md"));
        // A row's key with its placeholders ({name}, {routeId}, {i}) read as "any key".
        var rows = RowKey().Matches(docs).Select(m => (Key: Placeholder().Replace(m.Groups[1].Value, "{…}"), Type: m.Groups[2].Value.Trim())).ToList();

        var options = Options().ToList();
        Assert.True(options.Count > 60, $"only {options.Count} options found: the walk over the options classes broke");
        Assert.All(options, option =>
        {
            var key = option.Key.Replace("{i}", "{…}", StringComparison.Ordinal);
            Assert.True(rows.Exists(r => r.Key == key && r.Type.Length > 0), $"docs/configuration.md has no row for `{option.Key}` ({option.Type.Name})");
        });
        // Every row names a real option: a removed or renamed one leaves no row behind.
        var known = options.Select(o => o.Key.Replace("{i}", "{…}", StringComparison.Ordinal)).ToHashSet();
        Assert.All(rows, row => Assert.True(known.Contains(row.Key), $"docs/configuration.md documents `{row.Key}`, which is no option"));
    }

    // | `Key` | type | default | reloads | meaning |
    [GeneratedRegex(@"^\| `([A-Za-z:{}…]+)` \| ([^|\n]+) \|[^|\n]+\|[^|\n]+\|", RegexOptions.Multiline)]
    private static partial Regex RowKey();

    [GeneratedRegex(@"\{[A-Za-z…]+\}")]
    private static partial Regex Placeholder();
}
