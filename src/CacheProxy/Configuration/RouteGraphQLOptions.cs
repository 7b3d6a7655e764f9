namespace CacheProxy.Configuration;

/// <summary>A route's GraphQL caching (<c>CacheProxy:Routes:{id}:GraphQL</c>, docs/graphql.md).</summary>
public sealed class RouteGraphQLOptions
{
    /// <summary>Gets or sets whether the route's GraphQL queries are cached: over GET, as persisted queries, and POST queries as safe reads.</summary>
    /// <value>Default false.</value>
    public bool Enabled { get; set; }

    /// <summary>Gets or sets who shares a stored response; required when <see cref="Enabled"/>.</summary>
    public GraphQLKeyScope Key { get; set; }

    /// <summary>Gets or sets the largest request body read as a GraphQL request; a larger one passes through, uncached.</summary>
    /// <value>Default 64 KiB; 1 KiB to 1 MiB.</value>
    public int MaxBodySize { get; set; } = 64 * 1024;

    /// <summary>Gets or sets whether a response whose body has <c>errors</c> is stored.</summary>
    /// <value>Default false.</value>
    public bool CacheErrors { get; set; }

    /// <summary>Gets or sets whether stored responses are tagged <c>Type:id</c> for the entities in their <c>data</c>.</summary>
    /// <value>Default true.</value>
    public bool EntityTags { get; set; } = true;

    /// <summary>Gets or sets the most entity tags one response gets; more are dropped (event 1022).</summary>
    /// <value>Default 64; 1 to 1000.</value>
    public int MaxEntityTags { get; set; } = 64;

    /// <summary>
    /// Gets the fields that identify an entity of a type, by type name, in place of <c>id</c>: for example
    /// <c>"Product": ["sku"]</c>. Several fields are joined with <c>:</c> in the tag.
    /// </summary>
    public IDictionary<string, string[]> KeyFields { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal);

    /// <summary>Gets or sets whether the entities a successful mutation returns are purged (by their tags) on every instance.</summary>
    /// <value>Default false.</value>
    public bool PurgeOnMutation { get; set; }
}
