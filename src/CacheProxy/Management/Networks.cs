using System.Net;

namespace CacheProxy.Management;

/// <summary>Whether a client address is in a list of CIDR networks (validated at startup and on reload).</summary>
internal static class Networks
{
    public static readonly IPNetwork[] Loopback = [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    public static IPNetwork[] Parse(IEnumerable<string> networks) =>
        [.. networks.Select(n => IPNetwork.TryParse(n, out var parsed) ? parsed : (IPNetwork?)null).OfType<IPNetwork>()];

    /// <summary>True when <paramref name="address"/> (IPv4-mapped IPv6 counts as IPv4) is in one of <paramref name="networks"/>.</summary>
    public static bool Contains(IReadOnlyList<IPNetwork> networks, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }
}
