using System.Xml;

namespace CacheProxy.Warming;

/// <summary>The URLs of a warming job, from a sitemap, a list of lines, or JSON: checked the same way wherever they come from.</summary>
internal static class WarmInput
{
    /// <summary>Every <c>&lt;loc&gt;</c> of a sitemap (no DTD, no external entities); stops past <paramref name="max"/>.</summary>
    public static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadSitemapAsync(Stream body, int max)
    {
        var locations = new List<string?>();
        try
        {
            using var reader = XmlReader.Create(body, new XmlReaderSettings { Async = true, DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            while (await reader.ReadAsync())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "loc")
                {
                    locations.Add((await reader.ReadElementContentAsStringAsync()).Trim());
                    if (locations.Count > max)
                    {
                        break;
                    }
                }
            }
        }
        catch (XmlException ex)
        {
            return (null, "body", $"not a sitemap: {ex.Message}");
        }
        return Check(locations, max);
    }

    /// <summary>A file of URLs, one per line (blank lines and lines starting with # left out), or a sitemap when it starts with &lt;.</summary>
    public static async Task<(IReadOnlyList<Uri>? Urls, string Field, string Reason)> ReadFileAsync(string path, int max)
    {
        await using var file = File.OpenRead(path);
        var first = file.ReadByte();
        while (first is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF)
        {
            first = file.ReadByte();
        }
        file.Position = 0;
        if (first == '<')
        {
            return await ReadSitemapAsync(file, max);
        }
        var lines = new List<string?>();
        using var reader = new StreamReader(file);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (UrlOnLine(line) is { } url)
            {
                lines.Add(url);
                if (lines.Count > max)
                {
                    break;
                }
            }
        }
        return Check(lines, max);
    }

    /// <summary>The URL a line of a URL list names: the line trimmed; null for a blank line or a # comment.</summary>
    public static string? UrlOnLine(string line)
    {
        var url = line.Trim();
        return url.Length > 0 && !url.StartsWith('#') ? url : null;
    }

    public static (IReadOnlyList<Uri>? Urls, string Field, string Reason) Check(IReadOnlyList<string?> urls, int max)
    {
        if (urls.Count == 0)
        {
            return (null, "urls", "at least one URL");
        }
        if (urls.Count > max)
        {
            return (null, "urls", $"at most {max} URLs (CacheProxy:Warm:MaxUrls)");
        }
        var parsed = new List<Uri>(urls.Count);
        for (var i = 0; i < urls.Count; i++)
        {
            if (urls[i] is not { Length: <= 8192 } text || !Http.HttpUrl.TryParse(text, out var uri))
            {
                return (null, $"urls[{i}]", "an absolute http:// or https:// URL of at most 8192 characters");
            }
            parsed.Add(uri);
        }
        return (parsed, string.Empty, string.Empty);
    }
}
