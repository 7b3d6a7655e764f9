using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CacheProxy.Health;

/// <summary>
/// Writes a health report as JSON: the overall status and duration, then each check's status, duration,
/// description and data. Exceptions are named by type only: health output is no place for stack traces.
/// </summary>
internal static class HealthReportWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 3));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 3));
            if (entry.Description is not null)
            {
                json.WriteString("description", entry.Description);
            }
            if (entry.Exception is not null)
            {
                json.WriteString("error", entry.Exception.GetType().Name);
            }
            if (entry.Data.Count > 0)
            {
                json.WriteStartObject("data");
                foreach (var (key, value) in entry.Data)
                {
                    switch (value)
                    {
                        case int or long or double:
                            json.WriteNumber(key, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                        case bool flag:
                            json.WriteBoolean(key, flag);
                            break;
                        default:
                            json.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                    }
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
