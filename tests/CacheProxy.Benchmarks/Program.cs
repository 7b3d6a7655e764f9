using BenchmarkDotNet.Running;

if (args is ["images", var directory, var rounds])
{
    CacheProxy.Benchmarks.ImageComparison.Run(directory, int.Parse(rounds, System.Globalization.CultureInfo.InvariantCulture)); // tests/load/images.sh
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(CacheProxy.Benchmarks.HitPathBenchmarks).Assembly).Run(args);
