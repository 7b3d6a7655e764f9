using GraphQLParser.AST;

namespace CacheProxy.GraphQL;

/// <summary>A request's GraphQL operation, as <see cref="GraphQLRequests"/> read it.</summary>
/// <param name="Type">Query, mutation or subscription.</param>
/// <param name="OperationName">The operation's name, or null.</param>
/// <param name="KeyValue">What keys a query beyond its URL: a hash of the normalized operation, its name and its variables.</param>
/// <param name="Body">The POST body, kept to forward it again (a background refresh); null for a GET.</param>
internal sealed record GraphQLRequest(OperationType Type, string? OperationName, string KeyValue, byte[]? Body)
{
    /// <summary>Gets whether it is a query: a safe read the cache may answer.</summary>
    public bool IsQuery => Type == OperationType.Query;
}
