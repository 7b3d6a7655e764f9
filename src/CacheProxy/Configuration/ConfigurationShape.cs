using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace CacheProxy.Configuration;

/// <summary>A value under a bound section that does not convert to its option's type.</summary>
internal sealed record Unconvertible(string Path, string Value, Type Type)
{
    public override string ToString() =>
        $"{Path}: '{Value}' is not {ConfigurationShape.Describe(Type)}.";
}

/// <summary>A key under a bound section that binds to no option; <paramref name="Suggestion"/> is the nearest known key, if one is close.</summary>
internal sealed record UnknownKey(string Path, string? Suggestion)
{
    /// <summary>"; did you mean …?" when there is a suggestion, else empty: the end of the event 1305 message and of <see cref="ToString"/>.</summary>
    public string Hint => Suggestion is null ? string.Empty : $"; did you mean {Suggestion}?";

    public override string ToString() => $"{Path} binds to no option and is ignored{(Suggestion is null ? "." : Hint)}";
}

/// <summary>
/// Walks a configuration section against the options type it binds to, as <see cref="ConfigurationBinder"/> would
/// (property names without case, <see cref="ConfigurationKeyNameAttribute"/>, dictionaries by key, collections by
/// index, scalars through their <see cref="TypeConverter"/>), and finds what the binder would throw on or drop
/// without a word: values that do not convert, and keys that bind to nothing.
/// </summary>
internal static class ConfigurationShape
{
    /// <summary>The values of <paramref name="section"/> that do not convert, and its keys that bind to nothing (except under <paramref name="elsewhere"/>: sections other options bind).</summary>
    public static (List<Unconvertible> Unconvertible, List<UnknownKey> Unknown) Check(IConfiguration section, Type type, IReadOnlySet<string>? elsewhere = null)
    {
        var result = (new List<Unconvertible>(), new List<UnknownKey>());
        VisitMembers(section, type, result, elsewhere ?? new HashSet<string>(StringComparer.OrdinalIgnoreCase));
        return result;
    }

    /// <summary>
    /// <paramref name="section"/> without the values that do not convert, for the binder to bind the rest (so one bad
    /// value neither throws nor hides the other errors); the section itself when every value converts.
    /// </summary>
    public static IConfiguration WithoutUnconvertible(IConfiguration section, IReadOnlyCollection<Unconvertible> unconvertible)
    {
        if (unconvertible.Count == 0)
        {
            return section;
        }
        var prefix = PathOf(section) is { } path ? path + ConfigurationPath.KeyDelimiter : string.Empty;
        var bad = unconvertible.Select(u => u.Path[prefix.Length..]).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var kept = section.AsEnumerable(makePathsRelative: true).Where(p => !bad.Contains(p.Key));
        return new ConfigurationBuilder().AddInMemoryCollection(kept).Build();
    }

    private static void Visit(IConfigurationSection section, Type type, (List<Unconvertible> Bad, List<UnknownKey> Unknown) result, IReadOnlySet<string> elsewhere)
    {
        if (elsewhere.Contains(section.Path))
        {
            return;
        }
        var nullable = Nullable.GetUnderlyingType(type);
        var target = nullable ?? type;
        if (target == typeof(object))
        {
            return;
        }
        if (IsScalar(target))
        {
            // As the binder: an empty value is null for a nullable type, and converted (so refused) for any other.
            if (section.Value is { } value && !(value.Length == 0 && nullable is not null) && !Converts(value, target))
            {
                result.Bad.Add(new Unconvertible(section.Path, value, target));
            }
            foreach (var child in section.GetChildren())
            {
                result.Unknown.Add(new UnknownKey(child.Path, null)); // a value, not a section: nothing below it binds
            }
            return;
        }
        if (ElementType(target) is { } element)
        {
            foreach (var child in section.GetChildren())
            {
                Visit(child, element, result, elsewhere);
            }
            return;
        }
        if (!string.IsNullOrEmpty(section.Value))
        {
            result.Bad.Add(new Unconvertible(section.Path, section.Value, target));
        }
        VisitMembers(section, target, result, elsewhere);
    }

    /// <summary>The children of a section that binds to the complex type <paramref name="type"/>: each one a property, or unknown.</summary>
    private static void VisitMembers(IConfiguration section, Type type, (List<Unconvertible> Bad, List<UnknownKey> Unknown) result, IReadOnlySet<string> elsewhere)
    {
        var properties = Properties(type);
        foreach (var child in section.GetChildren())
        {
            if (properties.TryGetValue(child.Key, out var property))
            {
                Visit(child, property.PropertyType, result, elsewhere);
            }
            else if (!elsewhere.Contains(child.Path))
            {
                var near = Nearest(child.Key, properties.Keys);
                result.Unknown.Add(new UnknownKey(child.Path, near is null ? null : ConfigurationPath.Combine(ParentPath(child), near)));
            }
        }
    }

    /// <summary>A section's path, or null for a configuration root.</summary>
    public static string? PathOf(IConfiguration configuration) =>
        configuration is IConfigurationSection { Path: { Length: > 0 } path } ? path : null;

    private static string ParentPath(IConfigurationSection section) => ConfigurationPath.GetParentPath(section.Path) ?? string.Empty;

    /// <summary>The options type's bindable properties by configuration key (a public getter; the binder sets or fills them).</summary>
    private static Dictionary<string, PropertyInfo> Properties(Type type)
    {
        var properties = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetMethod is { IsPublic: true } && property.GetIndexParameters().Length == 0)
            {
                properties.TryAdd(property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name, property);
            }
        }
        return properties;
    }

    private static bool IsScalar(Type type) =>
        type == typeof(string) || type.IsEnum || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static bool Converts(string value, Type type)
    {
        if (type == typeof(string))
        {
            return true;
        }
        try
        {
            return TypeDescriptor.GetConverter(type).ConvertFromInvariantString(value) is not null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false; // what the binder would wrap in "Failed to convert configuration value" and throw
        }
    }

    /// <summary>The element type of a dictionary keyed by string or of a collection, or null for a complex type.</summary>
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        var interfaces = type.IsInterface ? type.GetInterfaces().Append(type) : type.GetInterfaces();
        foreach (var candidate in interfaces.Where(i => i.IsGenericType))
        {
            var definition = candidate.GetGenericTypeDefinition();
            if ((definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>)) && candidate.GetGenericArguments()[0] == typeof(string))
            {
                return candidate.GetGenericArguments()[1];
            }
        }
        var enumerable = interfaces.FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0] ?? (typeof(IEnumerable).IsAssignableFrom(type) ? typeof(object) : null);
    }

    /// <summary>The known key closest to <paramref name="key"/>, when it is close enough to be a misspelling of it.</summary>
    private static string? Nearest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var upper = key.ToUpperInvariant();
        foreach (var name in known)
        {
            var distance = Distance(upper, name.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (name, distance);
            }
        }
        return best is not null && bestDistance <= Math.Max(2, best.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>What a value of <paramref name="type"/> looks like, for an operator.</summary>
    internal static string Describe(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => $"a whole number ({type.Name})",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => $"a number ({type.Name})",
            _ when type == typeof(bool) => "true or false (Boolean)",
            _ when type == typeof(TimeSpan) => "a time span such as 00:00:30 (TimeSpan)",
            _ when type.IsEnum => $"one of {string.Join(", ", Enum.GetNames(type))} ({type.Name})",
            _ when IsScalar(type) => $"a valid {type.Name}",
            _ => $"a value: {type.Name} is a section of settings",
        };
    }
}
