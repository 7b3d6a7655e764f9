namespace CacheProxy.Configuration;

/// <summary>A route's refresh ahead (<c>CacheProxy:Routes:{id}:RefreshAhead</c>); an unset value is <see cref="RefreshAheadOptions"/>'s.</summary>
public sealed class RouteRefreshAheadOptions
{
    /// <summary>Gets or sets whether the route refreshes ahead.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Gets or sets the share of the freshness lifetime, at its end, in which hits count towards a refresh.</summary>
    /// <value>Greater than 0 and less than 1.</value>
    public double? Threshold { get; set; }

    /// <summary>Gets or sets how many hits in that share start a refresh.</summary>
    /// <value>At least 1.</value>
    public int? MinHits { get; set; }
}
