using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(CacheProxy.Benchmarks.HitPathBenchmarks).Assembly).Run(args);
