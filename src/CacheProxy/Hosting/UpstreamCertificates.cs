using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CacheProxy.Configuration;
using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Hosting;

/// <summary>
/// Mutual TLS to upstreams (<c>CacheProxy:Upstream:Tls</c>, docs/operations/service-mesh.md): each cluster's client
/// certificate and private CAs, read from their files and read again when the files change (checked every
/// <c>TlsReloadInterval</c>; a file that fails to load keeps the last good one, event 1206). A new connection presents
/// the certificate held at that moment, so a rotation drops no request: connections already open finish with the
/// one they started with. The origin's certificate is checked against the cluster's CAs when it has some
/// (event 1205 says why one was refused). Expiry shows in readiness and in <c>cacheproxy.upstream.client_certificate.expiry</c>.
/// </summary>
internal sealed class UpstreamCertificates : IDisposable
{
    private readonly LastGoodOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Loaded> _held = new(StringComparer.OrdinalIgnoreCase);
    private ITimer? _timer;
    private readonly Lock _reloading = new();

    public UpstreamCertificates(LastGoodOptions options, TimeProvider time, CacheProxyMetrics metrics, ILoggerFactory loggers)
    {
        _options = options;
        _time = time;
        _logger = loggers.CreateLogger(LogCategories.Upstream);
        Reload();
        metrics.Meter.CreateObservableGauge("cacheproxy.upstream.client_certificate.expiry", Expiries, "s",
            "Seconds until each cluster's upstream client certificate expires (negative: expired), by cluster.");
    }

    /// <summary>What is held for a cluster: the certificate, the CAs, and the files' state they were read from.</summary>
    private sealed record Loaded(UpstreamTlsOptions Options, X509Certificate2? Client, X509Certificate2Collection? Authorities, string Stamp);

    /// <summary>
    /// Whether <paramref name="clusterId"/> has mutual TLS configured (asked when YARP makes the cluster's client): its
    /// files read if they were not yet, and checked from then on. No timer runs while no cluster has any.
    /// </summary>
    public bool Configured(string clusterId)
    {
        if (!_options.Current.Upstream.Tls.ContainsKey(clusterId))
        {
            return false;
        }
        if (!_held.ContainsKey(clusterId))
        {
            Reload(); // configured by a reload since
        }
        if (Volatile.Read(ref _timer) is null)
        {
            var interval = _options.Current.Upstream.TlsReloadInterval;
            var timer = _time.CreateTimer(static s => ((UpstreamCertificates)s!).Reload(), this, interval, interval);
            if (Interlocked.CompareExchange(ref _timer, timer, null) is not null)
            {
                timer.Dispose();
            }
        }
        return true;
    }

    /// <summary>The client certificate a new connection to the cluster presents now, or null.</summary>
    public X509Certificate2? ClientCertificate(string clusterId) => _held.TryGetValue(clusterId, out var held) ? held.Client : null;

    /// <summary>The client certificates held, by cluster, with when each expires (readiness reads it).</summary>
    public IEnumerable<(string Cluster, X509Certificate2 Certificate, TimeSpan Warning)> Clients()
    {
        foreach (var (cluster, held) in _held)
        {
            if (held.Client is { } certificate)
            {
                yield return (cluster, certificate, held.Options.ExpiryWarning);
            }
        }
    }

    /// <summary>
    /// Checks the origin's certificate for <paramref name="clusterId"/>: with the cluster's CAs, chained to one of them
    /// (and the name still checked); without, as the system checks it.
    /// </summary>
    public bool ValidateOrigin(string clusterId, X509Certificate? certificate, SslPolicyErrors errors)
    {
        var held = _held.TryGetValue(clusterId, out var h) ? h : null;
        string? refusal;
        if (certificate is null)
        {
            refusal = "the origin sent no certificate";
        }
        else if (held?.Authorities is not { Count: > 0 } authorities)
        {
            refusal = errors == SslPolicyErrors.None ? null : $"{errors} (checked against the system's trusted roots)";
        }
        else if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            refusal = errors.ToString(); // the name does not match, whatever chain it has
        }
        else
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // private CAs seldom publish revocation lists
            using var presented = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            refusal = chain.Build(presented) ? null
                : "not issued by a CA of CaBundlePath: " + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Distinct());
        }
        if (refusal is not null)
        {
            Log.UpstreamCertificateRejected(_logger, clusterId, certificate?.Subject ?? "(none)", refusal);
        }
        return refusal is null;
    }

    /// <summary>Reads the files that changed since they were last read; a file that does not load keeps what was held.</summary>
    private void Reload()
    {
        lock (_reloading)
        {
            var configured = _options.Current.Upstream.Tls;
            foreach (var cluster in _held.Keys.Where(c => !configured.ContainsKey(c)))
            {
                _held.TryRemove(cluster, out _);
            }
            foreach (var (cluster, tls) in configured)
            {
                var stamp = Stamp(tls);
                if (_held.TryGetValue(cluster, out var held) && held.Stamp == stamp && ReferenceEquals(held.Options, tls))
                {
                    continue;
                }
                try
                {
                    var (client, authorities) = Load(tls);
                    _held[cluster] = new Loaded(tls, client, authorities, stamp);
                    Log.UpstreamCertificatesLoaded(_logger, cluster, client?.Subject ?? "(none)", client?.NotAfter.ToUniversalTime() ?? default, authorities?.Count ?? 0);
                }
                catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
                {
                    Log.UpstreamCertificatesNotLoaded(_logger, cluster, ex.Message);
                    if (held is not null)
                    {
                        _held[cluster] = held with { Stamp = stamp }; // the last good ones stay; the broken file is read again when it changes
                    }
                }
            }
        }
    }

    /// <summary>A hash of the files' contents: what tells a rotation apart (a mesh may swap a symlink and keep the times).</summary>
    private static string Stamp(UpstreamTlsOptions tls)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var path in new[] { tls.CertificatePath, tls.KeyPath, tls.CaBundlePath })
        {
            try
            {
                hash.AppendData(path is null ? [0] : File.ReadAllBytes(path));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.AppendData([1]); // missing now: Load says why
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static (X509Certificate2? Client, X509Certificate2Collection? Authorities) Load(UpstreamTlsOptions tls)
    {
        X509Certificate2? client = null;
        if (tls.CertificatePath is { } path)
        {
            client = IsPkcs12(path, tls.KeyPath) ? X509CertificateLoader.LoadPkcs12FromFile(path, tls.Password)
                : tls.Password is { } password ? X509Certificate2.CreateFromEncryptedPemFile(path, password, tls.KeyPath)
                : X509Certificate2.CreateFromPemFile(path, tls.KeyPath);
            if (!client.HasPrivateKey)
            {
                throw new CryptographicException($"{path} has no private key: give KeyPath, or a PKCS#12 file with the key");
            }
        }
        X509Certificate2Collection? authorities = null;
        if (tls.CaBundlePath is { } bundle)
        {
            authorities = [];
            authorities.ImportFromPemFile(bundle);
            if (authorities.Count == 0)
            {
                throw new CryptographicException($"{bundle} holds no PEM certificate");
            }
        }
        return (client, authorities);
    }

    private static bool IsPkcs12(string path, string? keyPath) => keyPath is null
        && (path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase));

    /// <summary>Configuration errors of one cluster's mutual TLS, each naming its key: what startup validation reports.</summary>
    public static IEnumerable<string> Check(string path, UpstreamTlsOptions tls)
    {
        if (tls.CertificatePath is null && tls.CaBundlePath is null)
        {
            yield return $"{path} needs CertificatePath, CaBundlePath or both.";
            yield break;
        }
        if (tls.KeyPath is not null && tls.CertificatePath is null)
        {
            yield return $"{path}:KeyPath needs CertificatePath.";
        }
        if (tls.ExpiryWarning < TimeSpan.Zero)
        {
            yield return $"{path}:ExpiryWarning must not be negative (was {tls.ExpiryWarning}).";
        }
        foreach (var (key, file) in new[] { ("CertificatePath", tls.CertificatePath), ("KeyPath", tls.KeyPath), ("CaBundlePath", tls.CaBundlePath) })
        {
            if (file is not null && !File.Exists(file))
            {
                yield return $"{path}:{key}: no such file '{file}'.";
            }
        }
        string? failure = null;
        if ((tls.CertificatePath is null || File.Exists(tls.CertificatePath)) && (tls.KeyPath is null || File.Exists(tls.KeyPath))
            && (tls.CaBundlePath is null || File.Exists(tls.CaBundlePath)))
        {
            try
            {
                Load(tls).Client?.Dispose();
            }
            catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
            {
                failure = ex.Message;
            }
        }
        if (failure is not null)
        {
            yield return $"{path}: the certificate files do not load: {failure}";
        }
    }

    private IEnumerable<Measurement<double>> Expiries()
    {
        var now = _time.GetUtcNow();
        foreach (var (cluster, certificate, _) in Clients())
        {
            yield return new Measurement<double>((certificate.NotAfter.ToUniversalTime() - now.UtcDateTime).TotalSeconds,
                new KeyValuePair<string, object?>("cluster", cluster));
        }
    }

    public void Dispose() => _timer?.Dispose();
}
