using CacheProxy.Caching;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Diagnostics;

/// <summary>
/// The core's log events; ids and names come from the one list, <see cref="EventIds"/>. The category comes from the
/// logger passed in (<see cref="LogCategories"/>). docs/observability.md lists them.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.CacheHit, EventName = nameof(EventIds.CacheHit), Level = LogLevel.Debug, Message = "Served from cache for route {RouteId}, key {KeyHash}")]
    public static partial void CacheHit(ILogger logger, string? routeId, string keyHash);

    [LoggerMessage(EventId = EventIds.CacheMiss, EventName = nameof(EventIds.CacheMiss), Level = LogLevel.Debug, Message = "Cache miss ({Reason}) for route {RouteId}, key {KeyHash}")]
    public static partial void CacheMiss(ILogger logger, string reason, string? routeId, KeyHash keyHash);

    [LoggerMessage(EventId = EventIds.ResponseStored, EventName = nameof(EventIds.ResponseStored), Level = LogLevel.Debug, Message = "Stored {Bytes} bytes for key {KeyHash}, time to live {TimeToLive}")]
    public static partial void ResponseStored(ILogger logger, long bytes, KeyHash keyHash, TimeSpan timeToLive);

    [LoggerMessage(EventId = EventIds.ResponseNotStored, EventName = nameof(EventIds.ResponseNotStored), Level = LogLevel.Debug, Message = "Response for key {KeyHash} not stored: {Reason}")]
    public static partial void ResponseNotStored(ILogger logger, KeyHash keyHash, string reason);

    [LoggerMessage(EventId = EventIds.HitForPassMarked, EventName = nameof(EventIds.HitForPassMarked), Level = LogLevel.Debug, Message = "Key {KeyHash} passed upstream for {TimeToLive}: its response was not storable ({Reason})")]
    public static partial void HitForPassMarked(ILogger logger, KeyHash keyHash, TimeSpan timeToLive, string reason);

    [LoggerMessage(EventId = EventIds.Invalidated, EventName = nameof(EventIds.Invalidated), Level = LogLevel.Debug, Message = "Invalidated key {KeyHash} after {Method} with status {StatusCode}")]
    public static partial void Invalidated(ILogger logger, KeyHash keyHash, string method, int statusCode);

    [LoggerMessage(EventId = EventIds.BackgroundRefreshFailed, EventName = nameof(EventIds.BackgroundRefreshFailed), Level = LogLevel.Warning, Message = "Background refresh of key {KeyHash} failed")]
    public static partial void BackgroundRefreshFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(EventId = EventIds.ServedStaleOnError, EventName = nameof(EventIds.ServedStaleOnError), Level = LogLevel.Warning, Message = "Upstream failed with {StatusCode} for key {KeyHash}; served stale (stale-if-error)")]
    public static partial void ServedStaleOnError(ILogger logger, int statusCode, string keyHash);

    [LoggerMessage(EventId = EventIds.IncompleteBodyNotStored, EventName = nameof(EventIds.IncompleteBodyNotStored), Level = LogLevel.Warning, Message = "Upstream body for key {KeyHash} was incomplete ({Received} of {Expected} bytes); not stored")]
    public static partial void IncompleteBodyNotStored(ILogger logger, string keyHash, long received, long? expected);

    [LoggerMessage(EventId = EventIds.CollapseWaitTimedOut, EventName = nameof(EventIds.CollapseWaitTimedOut), Level = LogLevel.Information, Message = "Waited {Timeout} for a concurrent request of key {KeyHash}; one waiter takes the fetch over")]
    public static partial void CollapseWaitTimedOut(ILogger logger, TimeSpan timeout, string keyHash);

    [LoggerMessage(EventId = EventIds.TagsDropped, EventName = nameof(EventIds.TagsDropped), Level = LogLevel.Warning, Message = "Dropped {Count} tags of a response on route {RouteId}: more than {MaxTags}, longer than {MaxLength} characters, or with control characters")]
    public static partial void TagsDropped(ILogger logger, int count, string routeId, int maxTags, int maxLength);

    [LoggerMessage(EventId = EventIds.UnkeyedHeader, EventName = nameof(EventIds.UnkeyedHeader), Level = LogLevel.Debug, Message = "Unkeyed request field {Header} on route {RouteId}: {Action}")]
    public static partial void UnkeyedHeader(ILogger logger, string header, Configuration.UnkeyedHeaderAction action, string routeId);

    [LoggerMessage(EventId = EventIds.RequestContentBypassed, EventName = nameof(EventIds.RequestContentBypassed), Level = LogLevel.Debug, Message = "A {Method} request with content on route {RouteId} bypasses the cache")]
    public static partial void RequestContentBypassed(ILogger logger, string method, string routeId);

    [LoggerMessage(EventId = EventIds.ClientSendTimedOut, EventName = nameof(EventIds.ClientSendTimedOut), Level = LogLevel.Information, Message = "A client of route {RouteId} took none of a response for {Timeout}; its connection is closed")]
    public static partial void ClientSendTimedOut(ILogger logger, string routeId, TimeSpan timeout);

    [LoggerMessage(EventId = EventIds.CaptureSkipped, EventName = nameof(EventIds.CaptureSkipped), Level = LogLevel.Warning, Message = "Response for key {KeyHash} streamed but not stored: {Reason}")]
    public static partial void CaptureSkipped(ILogger logger, string keyHash, string reason);

    [LoggerMessage(EventId = EventIds.RequestFramingRefused, EventName = nameof(EventIds.RequestFramingRefused), Level = LogLevel.Debug, Message = "Refused a request on route {RouteId} for its framing: {Reason}")]
    public static partial void RequestFramingRefused(ILogger logger, string reason, string routeId);

    [LoggerMessage(EventId = EventIds.MemoryTierEvicted, EventName = nameof(EventIds.MemoryTierEvicted), Level = LogLevel.Debug, Message = "Memory tier evicted {Count} entries to stay under {Limit} bytes")]
    public static partial void MemoryTierEvicted(ILogger logger, int count, long limit);

    [LoggerMessage(EventId = EventIds.StoreReadFailed, EventName = nameof(EventIds.StoreReadFailed), Level = LogLevel.Warning, Message = "Cache store read failed for key {KeyHash}; treated as a miss")]
    public static partial void StoreReadFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(EventId = EventIds.StoreWriteFailed, EventName = nameof(EventIds.StoreWriteFailed), Level = LogLevel.Warning, Message = "Cache store write failed for key {KeyHash}; dropped")]
    public static partial void StoreWriteFailed(ILogger logger, string keyHash, Exception exception);

    [LoggerMessage(EventId = EventIds.MemoryTierFull, EventName = nameof(EventIds.MemoryTierFull), Level = LogLevel.Information, Message = "Memory tier reached its limit of {Limit} bytes; entries are being evicted")]
    public static partial void MemoryTierFull(ILogger logger, long limit);

    [LoggerMessage(EventId = EventIds.EvictionPolicyChanged, EventName = nameof(EventIds.EvictionPolicyChanged), Level = LogLevel.Information, Message = "Memory tier now evicts by {Policy}; {Count} entries kept")]
    public static partial void EvictionPolicyChanged(ILogger logger, string policy, int count);

    [LoggerMessage(EventId = EventIds.UpstreamUnreachable, EventName = nameof(EventIds.UpstreamUnreachable), Level = LogLevel.Warning, Message = "Upstream {Destination} of route {RouteId} unreachable ({ForwarderError})")]
    public static partial void UpstreamUnreachable(ILogger logger, string? routeId, string? destination, Yarp.ReverseProxy.Forwarder.ForwarderError forwarderError, Exception? exception);

    [LoggerMessage(EventId = EventIds.UpstreamTimedOut, EventName = nameof(EventIds.UpstreamTimedOut), Level = LogLevel.Warning, Message = "Upstream {Destination} of route {RouteId} did not answer within {Timeout}")]
    public static partial void UpstreamTimedOut(ILogger logger, string? routeId, string? destination, TimeSpan timeout, Exception? exception);

    [LoggerMessage(EventId = EventIds.UpstreamProtocolError, EventName = nameof(EventIds.UpstreamProtocolError), Level = LogLevel.Warning, Message = "Upstream {Destination} of route {RouteId} sent an unusable response ({ForwarderError}; response already started: {ResponseStarted})")]
    public static partial void UpstreamProtocolError(ILogger logger, string? routeId, string? destination, Yarp.ReverseProxy.Forwarder.ForwarderError forwarderError, bool responseStarted, Exception? exception);

    [LoggerMessage(EventId = EventIds.ConfigurationInvalid, EventName = nameof(EventIds.ConfigurationInvalid), Level = LogLevel.Error, Message = "Configuration is invalid: {Errors}")]
    public static partial void ConfigurationInvalid(ILogger logger, string errors);

    [LoggerMessage(EventId = EventIds.CorrelationIdReplaced, EventName = nameof(EventIds.CorrelationIdReplaced), Level = LogLevel.Information, Message = "Request {HeaderName} was invalid ({Length} characters in {Count} values) and was replaced by {CorrelationId}")]
    public static partial void CorrelationIdReplaced(ILogger logger, string headerName, int length, int count, string correlationId);

    [LoggerMessage(EventId = EventIds.ManagementCallRefused, EventName = nameof(EventIds.ManagementCallRefused), Level = LogLevel.Warning, Message = "Refused {Method} {Path} from {RemoteAddress} on port {LocalPort}: {Reason}")]
    public static partial void ManagementCallRefused(ILogger logger, string method, string path, string? remoteAddress, int localPort, string reason);

    [LoggerMessage(EventId = EventIds.ClientRequestFailed, EventName = nameof(EventIds.ClientRequestFailed), Level = LogLevel.Information, Message = "Request on route {RouteId} failed on the client side ({ForwarderError}: {ExceptionType})")]
    public static partial void ClientRequestFailed(ILogger logger, string? routeId, Yarp.ReverseProxy.Forwarder.ForwarderError forwarderError, string? exceptionType);

    [LoggerMessage(EventId = EventIds.ConfigurationKeyUnknown, EventName = nameof(EventIds.ConfigurationKeyUnknown), Level = LogLevel.Warning, Message = "Configuration key {Key} binds to no option and is ignored{Suggestion}")]
    public static partial void ConfigurationKeyUnknown(ILogger logger, string key, string suggestion);

    [LoggerMessage(EventId = EventIds.ConfigurationReloadRejected, EventName = nameof(EventIds.ConfigurationReloadRejected), Level = LogLevel.Error, Message = "A configuration reload was rejected ({ErrorCount} errors, logged as ConfigurationInvalid); the last good CacheProxy configuration stays in effect")]
    public static partial void ConfigurationReloadRejected(ILogger logger, int errorCount);

    [LoggerMessage(EventId = EventIds.SettingsFileInvalid, EventName = nameof(EventIds.SettingsFileInvalid), Level = LogLevel.Error, Message = "The settings file {File} could not be reloaded ({Reason}); its last good content stays in effect")]
    public static partial void SettingsFileInvalid(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = EventIds.ConfigurationReloaded, EventName = nameof(EventIds.ConfigurationReloaded), Level = LogLevel.Information, Message = "The CacheProxy configuration was reloaded and is in effect")]
    public static partial void ConfigurationReloaded(ILogger logger);

    [LoggerMessage(EventId = EventIds.ProxyConfigurationRejected, EventName = nameof(EventIds.ProxyConfigurationRejected), Level = LogLevel.Error, Message = "YARP rejected a configuration of routes and clusters; its last good configuration stays in effect")]
    public static partial void ProxyConfigurationRejected(ILogger logger, Exception exception);

    [LoggerMessage(EventId = EventIds.ProxyConfigurationApplied, EventName = nameof(EventIds.ProxyConfigurationApplied), Level = LogLevel.Information, Message = "YARP applied a configuration of {Routes} routes and {Clusters} clusters")]
    public static partial void ProxyConfigurationApplied(ILogger logger, int routes, int clusters);

    [LoggerMessage(EventId = EventIds.BackgroundWorkFailed, EventName = nameof(EventIds.BackgroundWorkFailed), Level = LogLevel.Error, Message = "Background work {Work} failed")]
    public static partial void BackgroundWorkFailed(ILogger logger, string work, Exception exception);

    [LoggerMessage(EventId = EventIds.UnhandledError, EventName = nameof(EventIds.UnhandledError), Level = LogLevel.Error, Message = "Unhandled error while proxying a {Method} request")]
    public static partial void UnhandledError(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = EventIds.PurgeApplied, EventName = nameof(EventIds.PurgeApplied), Level = LogLevel.Information, Message = "Purge by {Caller}: {Urls} URLs, {Tags} tags, {Prefixes} prefixes, soft {Soft}; {Removed} memory-tier entries removed here; published to other instances: {Published}")]
    public static partial void PurgeApplied(ILogger logger, string caller, int urls, int tags, int prefixes, bool soft, int removed, string published);

    [LoggerMessage(EventId = EventIds.PurgeNotPublished, EventName = nameof(EventIds.PurgeNotPublished), Level = LogLevel.Error, Message = "Purge by {Caller} holds on this instance but could not be published to the others; answered 503, to be retried")]
    public static partial void PurgeNotPublished(ILogger logger, string caller);

    [LoggerMessage(EventId = EventIds.CdnDelivered, EventName = nameof(EventIds.CdnDelivered), Level = LogLevel.Information, Message = "Purge {ForwardingId} delivered to CDN {Provider} (attempt {Attempt}): {Detail}")]
    public static partial void CdnDelivered(ILogger logger, string forwardingId, string provider, int attempt, string? detail);

    [LoggerMessage(EventId = EventIds.CdnDeliveryRetried, EventName = nameof(EventIds.CdnDeliveryRetried), Level = LogLevel.Warning, Message = "Purge {ForwardingId} not delivered to CDN {Provider} (attempt {Attempt}): {Detail}; next attempt in {Delay}")]
    public static partial void CdnDeliveryRetried(ILogger logger, string forwardingId, string provider, int attempt, string? detail, TimeSpan delay);

    [LoggerMessage(EventId = EventIds.CdnDeliveryFailed, EventName = nameof(EventIds.CdnDeliveryFailed), Level = LogLevel.Error, Message = "Purge {ForwardingId} given up for CDN {Provider} after {Attempt} attempts, now a dead letter (GET /purge/forwarding): {Detail}")]
    public static partial void CdnDeliveryFailed(ILogger logger, string forwardingId, string provider, int attempt, string? detail);

    [LoggerMessage(EventId = EventIds.CdnForwardingNotQueued, EventName = nameof(EventIds.CdnForwardingNotQueued), Level = LogLevel.Error, Message = "Purge by {Caller} holds on the gateway but could not be queued for the CDNs ({Reason}); answered 503, to be retried")]
    public static partial void CdnForwardingNotQueued(ILogger logger, string caller, string reason);

    [LoggerMessage(EventId = EventIds.PurgeRejected, EventName = nameof(EventIds.PurgeRejected), Level = LogLevel.Warning, Message = "Purge request by {Caller} rejected: {Field}: {Reason}")]
    public static partial void PurgeRejected(ILogger logger, string caller, string field, string reason);

    [LoggerMessage(EventId = EventIds.PurgeLedgerBounded, EventName = nameof(EventIds.PurgeLedgerBounded), Level = LogLevel.Warning, Message = "The purge ledger reached CacheProxy:Purge:MaxLedgerEntries: its {Forgotten} oldest records were forgotten early, and what was filled before them turned stale")]
    public static partial void PurgeLedgerBounded(ILogger logger, int forgotten);

    [LoggerMessage(EventId = EventIds.ManagementLimitReached, EventName = nameof(EventIds.ManagementLimitReached), Level = LogLevel.Warning, Message = "Management call by {Caller} refused (429): {Limit}")]
    public static partial void ManagementLimitReached(ILogger logger, string caller, string limit);

    [LoggerMessage(EventId = EventIds.EsiTemplateMalformed, EventName = nameof(EventIds.EsiTemplateMalformed), Level = LogLevel.Warning, Message = "ESI page {KeyHash} of route {RouteId} has instructions left as text: {Errors}")]
    public static partial void EsiTemplateMalformed(ILogger logger, KeyHash keyHash, string routeId, string errors);

    [LoggerMessage(EventId = EventIds.EsiFragmentFailed, EventName = nameof(EventIds.EsiFragmentFailed), Level = LogLevel.Warning, Message = "ESI fragment {Src} of route {RouteId} failed ({Reason}): {Outcome}")]
    public static partial void EsiFragmentFailed(ILogger logger, string src, string routeId, string reason, string outcome);

    [LoggerMessage(EventId = EventIds.GraphQLPassed, EventName = nameof(EventIds.GraphQLPassed), Level = LogLevel.Debug, Message = "GraphQL request on route {RouteId} passed to the origin uncached: {Reason}")]
    public static partial void GraphQLPassed(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = EventIds.GraphQLRefused, EventName = nameof(EventIds.GraphQLRefused), Level = LogLevel.Information, Message = "GraphQL request on route {RouteId} refused: {Reason}")]
    public static partial void GraphQLRefused(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = EventIds.GraphQLEntityTagsDropped, EventName = nameof(EventIds.GraphQLEntityTagsDropped), Level = LogLevel.Warning, Message = "GraphQL response for key {KeyHash} on route {RouteId} holds {Count} entities; {Dropped} over GraphQL:MaxEntityTags were not tagged")]
    public static partial void GraphQLEntityTagsDropped(ILogger logger, KeyHash keyHash, string routeId, int count, int dropped);

    [LoggerMessage(EventId = EventIds.GraphQLMutationPurged, EventName = nameof(EventIds.GraphQLMutationPurged), Level = LogLevel.Information, Message = "GraphQL mutation {OperationName} on route {RouteId} purged {Count} entity tags of the {Found} it returned (GraphQL:MaxEntityTags): {Tags}")]
    public static partial void GraphQLMutationPurged(ILogger logger, string? operationName, string routeId, int count, int found, string tags);

    [LoggerMessage(EventId = EventIds.GraphQLResponseNotStored, EventName = nameof(EventIds.GraphQLResponseNotStored), Level = LogLevel.Debug, Message = "GraphQL response for key {KeyHash} on route {RouteId} not stored: {Reason}")]
    public static partial void GraphQLResponseNotStored(ILogger logger, KeyHash keyHash, string routeId, string reason);

    [LoggerMessage(EventId = EventIds.ExperimentCookieReassigned, EventName = nameof(EventIds.ExperimentCookieReassigned), Level = LogLevel.Debug, Message = "Experiment {Experiment} on route {RouteId}: a cookie value of {Length} characters is no bucket; the visitor was assigned anew")]
    public static partial void ExperimentCookieReassigned(ILogger logger, string experiment, string routeId, int length);

    [LoggerMessage(EventId = EventIds.RouteKeyedPerUser, EventName = nameof(EventIds.RouteKeyedPerUser), Level = LogLevel.Warning, Message = "Route {RouteId} keys on cookie {Cookie}, which looks like a session cookie: every user gets entries of their own (the hit ratio of a private cache, and memory that grows with users)")]
    public static partial void RouteKeyedPerUser(ILogger logger, string routeId, string cookie);

    [LoggerMessage(EventId = EventIds.MemoryReturned, EventName = nameof(EventIds.MemoryReturned), Level = LogLevel.Information, Message = "The process was quiet and the GC held {BeforeMiB} MiB, at least twice as much as after the last compaction: compacted to {AfterMiB} MiB")]
    public static partial void MemoryReturned(ILogger logger, long beforeMiB, long afterMiB);

    [LoggerMessage(EventId = EventIds.DrainStarted, EventName = nameof(EventIds.DrainStarted), Level = LogLevel.Information, Message = "Draining: readiness answers 503 and connections close after each response; serving {DrainDelay} more, then in-flight requests get up to {Timeout}")]
    public static partial void DrainStarted(ILogger logger, TimeSpan drainDelay, TimeSpan timeout);

    [LoggerMessage(EventId = EventIds.DrainDelayOver, EventName = nameof(EventIds.DrainDelayOver), Level = LogLevel.Information, Message = "Drain delay over: no new connections; waiting for requests in flight and background work")]
    public static partial void DrainDelayOver(ILogger logger);

    [LoggerMessage(EventId = EventIds.MaintenanceChanged, EventName = nameof(EventIds.MaintenanceChanged), Level = LogLevel.Information, Message = "Maintenance mode is {State} (by {Source}): Retry-After {RetryAfter}, allowed networks [{AllowedNetworks}]; changed by {By}")]
    private static partial void MaintenanceChanged(ILogger logger, string state, string source, TimeSpan retryAfter, string allowedNetworks, string by);

    public static void MaintenanceChanged(ILogger logger, bool enabled, string source, TimeSpan retryAfter, string allowedNetworks, string by) =>
        MaintenanceChanged(logger, enabled ? "on" : "off", source, retryAfter, allowedNetworks, by);

    [LoggerMessage(EventId = EventIds.MaintenanceNotShared, EventName = nameof(EventIds.MaintenanceNotShared), Level = LogLevel.Error, Message = "The maintenance switch set by {Caller} holds on this instance but could not be kept for the others (answered 503)")]
    public static partial void MaintenanceNotShared(ILogger logger, string caller);

    [LoggerMessage(EventId = EventIds.MaintenanceRefused, EventName = nameof(EventIds.MaintenanceRefused), Level = LogLevel.Debug, Message = "Maintenance mode: no stored response to serve for {Method} on route {RouteId}; answered 503")]
    public static partial void MaintenanceRefused(ILogger logger, string method, string? routeId);

    [LoggerMessage(EventId = EventIds.ConnectionRejected, EventName = nameof(EventIds.ConnectionRejected), Level = LogLevel.Information, Message = "Kestrel closed a connection from {RemoteAddress}: {Reason}")]
    public static partial void ConnectionRejected(ILogger logger, string reason, string? remoteAddress);

    [LoggerMessage(EventId = EventIds.UpstreamConnectRetried, EventName = nameof(EventIds.UpstreamConnectRetried), Level = LogLevel.Information, Message = "Could not connect to {Destination} for {Method}; retrying (attempt {Attempt})")]
    public static partial void UpstreamConnectRetried(ILogger logger, string? destination, string method, int attempt, Exception exception);

    [LoggerMessage(EventId = EventIds.UpstreamCertificateRejected, EventName = nameof(EventIds.UpstreamCertificateRejected), Level = LogLevel.Warning, Message = "The certificate of an origin of cluster {ClusterId} ({Subject}) was refused: {Reason}")]
    public static partial void UpstreamCertificateRejected(ILogger logger, string clusterId, string subject, string reason);

    [LoggerMessage(EventId = EventIds.UpstreamCertificatesNotLoaded, EventName = nameof(EventIds.UpstreamCertificatesNotLoaded), Level = LogLevel.Error, Message = "The TLS files of cluster {ClusterId} did not load; the last good ones stay in use: {Reason}")]
    public static partial void UpstreamCertificatesNotLoaded(ILogger logger, string clusterId, string reason);

    [LoggerMessage(EventId = EventIds.UpstreamCertificatesLoaded, EventName = nameof(EventIds.UpstreamCertificatesLoaded), Level = LogLevel.Information, Message = "TLS files of cluster {ClusterId} loaded: client certificate {Subject}, expires {NotAfter:O}; {Authorities} CA certificate(s)")]
    public static partial void UpstreamCertificatesLoaded(ILogger logger, string clusterId, string subject, DateTime notAfter, int authorities);

    [LoggerMessage(EventId = EventIds.WarmStarted, EventName = nameof(EventIds.WarmStarted), Level = LogLevel.Information, Message = "Warming {Count} URLs for {Caller} through {PublicUrl}, {Concurrency} at a time, at most {RequestsPerSecond} per second")]
    public static partial void WarmStarted(ILogger logger, int count, string caller, string publicUrl, int concurrency, double requestsPerSecond);

    [LoggerMessage(EventId = EventIds.WarmProgress, EventName = nameof(EventIds.WarmProgress), Level = LogLevel.Information, Message = "Warming: {Done} of {Count} done ({Stored} stored, {Cached} already cached, {NotStored} not stored, {Failed} failed), about {SecondsLeft} s left")]
    public static partial void WarmProgress(ILogger logger, int done, int count, int stored, int cached, int notStored, int failed, long secondsLeft);

    [LoggerMessage(EventId = EventIds.WarmFinished, EventName = nameof(EventIds.WarmFinished), Level = LogLevel.Information, Message = "Warming {State}: {Done} of {Count} done ({Stored} stored, {Cached} already cached, {NotStored} not stored, {Failed} failed) in {Seconds} s")]
    public static partial void WarmFinished(ILogger logger, string state, int done, int count, int stored, int cached, int notStored, int failed, long seconds);

    [LoggerMessage(EventId = EventIds.WarmRequestFailed, EventName = nameof(EventIds.WarmRequestFailed), Level = LogLevel.Debug, Message = "Warming {Url} failed: {Reason}")]
    public static partial void WarmRequestFailed(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = EventIds.WarmStartupFailed, EventName = nameof(EventIds.WarmStartupFailed), Level = LogLevel.Error, Message = "Warming at startup did not start: {Reason}")]
    public static partial void WarmStartupFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = EventIds.WarmJobFailed, EventName = nameof(EventIds.WarmJobFailed), Level = LogLevel.Error, Message = "A warming job ended on an error; it is marked failed and a new job may start")]
    public static partial void WarmJobFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = EventIds.MetricDimensionCapped, EventName = nameof(EventIds.MetricDimensionCapped), Level = LogLevel.Warning, Message = "Metric dimension {Dimension} reached {Limit} distinct values (CacheProxy:MetricDimensionValueLimit): further new values count as 'other'")]
    public static partial void MetricDimensionCapped(ILogger logger, string dimension, int limit);
}
