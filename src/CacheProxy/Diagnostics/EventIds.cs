namespace CacheProxy.Diagnostics;

/// <summary>
/// The one list of CacheProxy's log event ids, for every package: CacheProxy.Redis compiles this file in too
/// (linked, internal in both). Ids are stable and never reused; docs/observability.md lists each with its
/// category. Ranges: 1000-1099 cache, 1100-1199 store (1110-1129 the Redis tier), 1200-1299 upstream,
/// 1300-1399 configuration, 1400-1499 security, 1500-1599 internal, 1600-1699 purge, 1700-1799 lifecycle. Retired, never to be used
/// again: 1104 (MemoryTierDropped, until a gap in invalidations marked entries stale instead of dropping them).
/// </summary>
internal static class EventIds
{
    public const int CacheHit = 1000;
    public const int CacheMiss = 1001;
    public const int ResponseStored = 1002;
    public const int ResponseNotStored = 1003;
    public const int Invalidated = 1004;
    public const int BackgroundRefreshFailed = 1005;
    public const int ServedStaleOnError = 1006;
    public const int IncompleteBodyNotStored = 1007;
    public const int CollapseWaitTimedOut = 1008;
    public const int TagsDropped = 1009;
    public const int UnkeyedHeader = 1010;
    public const int RequestContentBypassed = 1011;
    public const int RequestFramingRefused = 1012;
    public const int CaptureSkipped = 1013;
    public const int ClientSendTimedOut = 1014;
    public const int HitForPassMarked = 1015;
    public const int EsiTemplateMalformed = 1016;
    public const int EsiFragmentFailed = 1017;
    public const int GraphQLPassed = 1020;
    public const int GraphQLRefused = 1021;
    public const int GraphQLEntityTagsDropped = 1022;
    public const int GraphQLMutationPurged = 1023;
    public const int GraphQLResponseNotStored = 1024;
    public const int ExperimentCookieReassigned = 1025;
    public const int ImageServedOriginal = 1030;
    public const int ImageParametersRefused = 1034;
    public const int ImageEagerVariantsStopped = 1035;

    public const int MemoryTierEvicted = 1100;
    public const int StoreReadFailed = 1101;
    public const int StoreWriteFailed = 1102;
    public const int MemoryTierFull = 1103;
    public const int EvictionPolicyChanged = 1105;

    public const int RedisConnectionFailed = 1110;
    public const int RedisConnectionRestored = 1111;
    public const int RedisBreakerOpened = 1112;
    public const int RedisBreakerClosed = 1113;
    public const int RedisOperationFailed = 1114;
    public const int RedisValueUnreadable = 1115;
    public const int RedisConfigurationMissing = 1116;
    public const int RedisInvalidationHandlerFailed = 1117;
    public const int RedisInvalidationGap = 1118;
    public const int RedisInvalidationsReplayed = 1119;
    public const int RedisInvalidationLogLost = 1120;

    public const int UpstreamUnreachable = 1200;
    public const int UpstreamTimedOut = 1201;
    public const int UpstreamProtocolError = 1202;
    public const int ClientRequestFailed = 1203;
    public const int UpstreamConnectRetried = 1204;
    public const int UpstreamCertificateRejected = 1205;
    public const int UpstreamCertificatesNotLoaded = 1206;
    public const int UpstreamCertificatesLoaded = 1207;

    public const int ConfigurationInvalid = 1300;
    public const int ConfigurationReloadRejected = 1301;
    public const int ConfigurationReloaded = 1302;
    public const int ProxyConfigurationRejected = 1303;
    public const int ProxyConfigurationApplied = 1304;
    public const int ConfigurationKeyUnknown = 1305;
    public const int SettingsFileInvalid = 1306;
    public const int RouteKeyedPerUser = 1307;

    public const int CorrelationIdReplaced = 1400;
    public const int ManagementCallRefused = 1401;
    public const int ConnectionRejected = 1402;

    public const int UnhandledError = 1500;
    public const int BackgroundWorkFailed = 1501;
    public const int MetricDimensionCapped = 1502;

    public const int PurgeApplied = 1600;
    public const int PurgeNotPublished = 1601;
    public const int PurgeRejected = 1602;
    public const int PurgeLedgerBounded = 1603;
    public const int ManagementLimitReached = 1604;
    public const int CdnDelivered = 1610;
    public const int CdnDeliveryRetried = 1611;
    public const int CdnDeliveryFailed = 1612;
    public const int CdnForwardingNotQueued = 1613;

    public const int DrainStarted = 1700;
    public const int DrainDelayOver = 1701;
    public const int MaintenanceChanged = 1710;
    public const int MaintenanceNotShared = 1711;
    public const int MaintenanceRefused = 1712;
    public const int WarmStarted = 1720;
    public const int WarmProgress = 1721;
    public const int WarmFinished = 1722;
    public const int WarmRequestFailed = 1723;
    public const int WarmStartupFailed = 1724;
    public const int WarmJobFailed = 1725;
    public const int MemoryReturned = 1730;
}
