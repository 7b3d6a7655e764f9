using CacheProxy.Simulation;

namespace CacheProxy.Tests.Simulation;

/// <summary>
/// The synthetic workloads of docs/performance.md ("Admission and eviction"), generated deterministically (a seeded
/// <see cref="Random"/>): each is a list of requests with the cache sizes it is replayed at.
/// </summary>
internal static class SyntheticWorkloads
{
    public const int Requests = 1_000_000;
    private const int Objects = 100_000;
    private const long ObjectSize = 4096;

    public sealed record Workload(string Name, string Description, TraceRequest[] Trace, long CatalogueBytes)
    {
        /// <summary>The cache sizes it is replayed at: 1 % and 10 % of the bytes of every object it asks for.</summary>
        public long[] CacheSizes => [CatalogueBytes / 100, CatalogueBytes / 10];
    }

    public static IEnumerable<Workload> All()
    {
        yield return Zipf(0.6);
        yield return Zipf(0.8);
        yield return Zipf(1.0);
        yield return Zipf(1.2);
        yield return ShiftingPopularity();
        yield return ScanAndZipf();
        yield return OneHitWonders();
    }

    public static Workload Zipf(double skew)
    {
        var random = new Random(1);
        var zipf = new ZipfSampler(Objects, skew);
        var trace = new TraceRequest[Requests];
        for (var i = 0; i < Requests; i++)
        {
            trace[i] = new TraceRequest(i, (ulong)zipf.Next(random), ObjectSize);
        }
        return new Workload($"zipf-{skew:0.0}", $"Zipf, skew {skew:0.0}, {Objects:N0} objects of 4 KiB", trace, Objects * ObjectSize);
    }

    /// <summary>Zipf 0.9 whose ranking moves: every 100,000 requests the most popular objects become others (an offset of 5,000 ranks).</summary>
    public static Workload ShiftingPopularity()
    {
        var random = new Random(2);
        var zipf = new ZipfSampler(Objects, 0.9);
        var trace = new TraceRequest[Requests];
        for (var i = 0; i < Requests; i++)
        {
            var shift = i / 100_000 * 5_000;
            trace[i] = new TraceRequest(i, (ulong)((zipf.Next(random) + shift) % (Objects * 2)), ObjectSize);
        }
        return new Workload("shifting", "Zipf 0.9, the popular set moving every 100,000 requests", trace, Objects * 2 * ObjectSize);
    }

    /// <summary>Zipf 0.9 with scans: every 50,000 requests, 20,000 objects requested once each, in order.</summary>
    public static Workload ScanAndZipf()
    {
        var random = new Random(3);
        var zipf = new ZipfSampler(Objects, 0.9);
        var trace = new TraceRequest[Requests];
        var scanned = 0UL;
        for (var i = 0; i < Requests;)
        {
            for (var z = 0; z < 50_000 && i < Requests; z++, i++)
            {
                trace[i] = new TraceRequest(i, (ulong)zipf.Next(random), ObjectSize);
            }
            for (var s = 0; s < 20_000 && i < Requests; s++, i++)
            {
                trace[i] = new TraceRequest(i, (1UL << 40) + scanned++, ObjectSize);
            }
        }
        return new Workload("scan+zipf", "Zipf 0.9 with a scan of 20,000 new objects every 50,000 requests", trace, (Objects * ObjectSize) + ((long)scanned * ObjectSize));
    }

    /// <summary>Half the requests for objects asked for once, half Zipf 0.9; sizes lognormal (median 8 KiB, σ 1.5) per object.</summary>
    public static Workload OneHitWonders()
    {
        var random = new Random(4);
        var zipf = new ZipfSampler(Objects, 0.9);
        var trace = new TraceRequest[Requests];
        var sizes = new long[Objects];
        long catalogue = 0;
        for (var o = 0; o < Objects; o++)
        {
            sizes[o] = LogNormal(random, Math.Log(8192), 1.5);
            catalogue += sizes[o];
        }
        var once = 0UL;
        for (var i = 0; i < Requests; i++)
        {
            if (random.Next(2) == 0)
            {
                var size = LogNormal(random, Math.Log(8192), 1.5);
                catalogue += size;
                trace[i] = new TraceRequest(i, (1UL << 40) + once++, size);
            }
            else
            {
                var o = zipf.Next(random);
                trace[i] = new TraceRequest(i, (ulong)o, sizes[o]);
            }
        }
        return new Workload("one-hit-wonders", "half one-hit wonders, half Zipf 0.9; lognormal sizes, median 8 KiB", trace, catalogue);
    }

    private static long LogNormal(Random random, double mu, double sigma)
    {
        // Box–Muller
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var normal = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return Math.Clamp((long)Math.Exp(mu + (sigma * normal)), 64, 16L * 1024 * 1024);
    }

    /// <summary>Ranks 0..n-1 with probability proportional to 1/(rank+1)^skew, by inverse transform over the cumulative weights.</summary>
    private sealed class ZipfSampler
    {
        private readonly double[] _cumulative;

        public ZipfSampler(int n, double skew)
        {
            _cumulative = new double[n];
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                sum += 1.0 / Math.Pow(i + 1, skew);
                _cumulative[i] = sum;
            }
            for (var i = 0; i < n; i++)
            {
                _cumulative[i] /= sum;
            }
        }

        public int Next(Random random)
        {
            var index = Array.BinarySearch(_cumulative, random.NextDouble());
            return Math.Min(index < 0 ? ~index : index, _cumulative.Length - 1);
        }
    }
}
