using CacheProxy.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CacheProxy.Images;

internal static partial class Log
{
    [LoggerMessage(EventId = EventIds.ImageServedOriginal, EventName = nameof(EventIds.ImageServedOriginal), Level = LogLevel.Warning, Message = "Image variant on route {RouteId} not made, the original served and not stored: {Reason}")]
    public static partial void ImageServedOriginal(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = EventIds.ImageParametersRefused, EventName = nameof(EventIds.ImageParametersRefused), Level = LogLevel.Debug, Message = "Image parameters on route {RouteId} refused: {Reason}")]
    public static partial void ImageParametersRefused(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = EventIds.ImageEagerVariantsStopped, EventName = nameof(EventIds.ImageEagerVariantsStopped), Level = LogLevel.Information, Message = "Eager image variants on route {RouteId} stopped with {Left} not made (they are made on their first request): {Reason}")]
    public static partial void ImageEagerVariantsStopped(ILogger logger, string routeId, int left, string reason);
}
