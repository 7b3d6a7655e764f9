using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace CacheProxy.Experiments;

/// <summary>
/// Which bucket a visitor is in, from the random seed its cookie keeps: weighted rendezvous hashing. Each bucket
/// scores <c>-ln(u) / weight</c>, <c>u</c> uniform from a hash of the seed, the experiment and the bucket; the lowest
/// wins, which is each bucket with the probability of its weight. Changing one bucket's weight moves visitors only
/// into or out of that bucket — never between two others — and only as many as the change needs (docs/experiments.md).
/// </summary>
internal static class ExperimentBuckets
{
    private const int SeedDigits = 16;

    /// <summary>The bucket of <paramref name="seed"/>: null when no bucket has a weight.</summary>
    public static string? Pick(string experiment, IEnumerable<KeyValuePair<string, int>> buckets, ulong seed)
    {
        string? best = null;
        var bestScore = double.PositiveInfinity;
        Span<byte> input = stackalloc byte[256];
        foreach (var (bucket, weight) in buckets)
        {
            if (weight <= 0)
            {
                continue;
            }
            var score = -Math.Log(Uniform(seed, experiment, bucket, input)) / weight;
            if (score < bestScore || (score == bestScore && string.CompareOrdinal(bucket, best) < 0))
            {
                (best, bestScore) = (bucket, score);
            }
        }
        return best;
    }

    /// <summary>A uniform number in (0, 1) from the seed, the experiment and the bucket.</summary>
    private static double Uniform(ulong seed, string experiment, string bucket, Span<byte> input)
    {
        var length = 8 + Encoding.UTF8.GetByteCount(experiment) + 1 + Encoding.UTF8.GetByteCount(bucket);
        var bytes = length <= input.Length ? input[..length] : new byte[length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, seed);
        var at = 8 + Encoding.UTF8.GetBytes(experiment, bytes[8..]);
        bytes[at++] = 0x1F;
        Encoding.UTF8.GetBytes(bucket, bytes[at..]);
        var hash = XxHash3.HashToUInt64(bytes);
        return ((hash >> 11) + 0.5) / (1UL << 53);
    }

    /// <summary>A new random seed.</summary>
    public static ulong NewSeed() => BinaryPrimitives.ReadUInt64LittleEndian(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    /// <summary>The cookie's value: <c>{bucket}.{seed as 16 hexadecimal digits}</c>.</summary>
    public static string CookieValue(string bucket, ulong seed) => string.Concat(bucket, ".", seed.ToString("x16", CultureInfo.InvariantCulture));

    /// <summary>The bucket and seed a cookie value holds; false for anything else (then the visitor is assigned anew).</summary>
    public static bool TryParse(string value, out string bucket, out ulong seed)
    {
        bucket = string.Empty;
        seed = 0;
        var dot = value.LastIndexOf('.');
        if (dot <= 0 || value.Length - dot - 1 != SeedDigits
            || !ulong.TryParse(value.AsSpan(dot + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out seed))
        {
            return false;
        }
        bucket = value[..dot];
        return true;
    }
}
