namespace CacheProxy.Configuration;

/// <summary>Who shares a GraphQL route's stored responses (<c>CacheProxy:Routes:{id}:GraphQL:Key</c>), besides the operation and its variables.</summary>
public enum GraphQLKeyScope
{
    /// <summary>Not set: a GraphQL route must choose (a startup error names the key).</summary>
    Unset = 0,

    /// <summary>One entry per operation and variables, for every caller; a response the origin marks private, by Cache-Control or a <c>PRIVATE</c> hint, is not stored.</summary>
    Shared,

    /// <summary>
    /// The caller is keyed too: the Authorization field's value (hashed) and the route's <c>Key:Cookies</c>. A
    /// response with a <c>PRIVATE</c> hint is then stored for its caller, and one to a request with Authorization
    /// is stored when it has explicit freshness.
    /// </summary>
    PerCaller,
}
