namespace CacheProxy.Tests.Infrastructure;

/// <summary>A file with the given content in the temporary folder, deleted on dispose.</summary>
public sealed class TempFile : IDisposable
{
    private TempFile(string path) => Path = path;

    public string Path { get; }

    public static async Task<TempFile> WriteAsync(string content)
    {
        var file = new TempFile(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cacheproxy-test-{Guid.NewGuid():N}"));
        await File.WriteAllTextAsync(file.Path, content);
        return file;
    }

    public void Dispose() => File.Delete(Path);
}
