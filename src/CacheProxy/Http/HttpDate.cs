using Microsoft.Extensions.Primitives;

namespace CacheProxy.Http;

/// <summary>
/// HTTP-date (RFC 9110 §5.6.7), the one parser of every date field (Date, Expires, Last-Modified,
/// If-Modified-Since, If-Range). A recipient must accept all three formats:
/// <list type="bullet">
/// <item>IMF-fixdate <c>Sun, 06 Nov 1994 08:49:37 GMT</c></item>
/// <item>rfc850-date <c>Sunday, 06-Nov-94 08:49:37 GMT</c> (two-digit year: more than 50 years ahead of the
/// reference time means the century before)</item>
/// <item>asctime-date <c>Sun Nov  6 08:49:37 1994</c></item>
/// </list>
/// Anything else is invalid: other spacing, other separators, one-digit hours, zones other than GMT, two-digit
/// years in IMF-fixdate, a field repeated on several lines. Day names, month names and GMT are matched without
/// regard to case (the RFC encourages robust parsing of timestamps), and the day name is not checked against the
/// date. No allocation.
/// </summary>
internal static class HttpDate
{
    private static readonly string[] Days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    private static readonly string[] LongDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>Parses a date field that must occur once: several lines (or none) are invalid.</summary>
    /// <param name="values">The field's lines.</param>
    /// <param name="reference">About now: resolves the century of an rfc850-date.</param>
    /// <param name="date">The date, in UTC.</param>
    /// <returns>Whether the field held exactly one valid HTTP-date.</returns>
    public static bool TryParse(StringValues values, DateTimeOffset reference, out DateTimeOffset date)
    {
        date = default;
        return values.Count == 1 && TryParse(values[0].AsSpan(), reference, out date);
    }

    /// <summary>Parses one HTTP-date; surrounding whitespace is ignored.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, DateTimeOffset reference, out DateTimeOffset date)
    {
        date = default;
        var s = value.Trim(" \t");
        var comma = s.IndexOf(',');
        if (comma == 3 && Name(s[..3], Days) >= 0)
        {
            return ImfFixdate(s[4..], out date);
        }
        if (comma > 3 && Name(s[..comma], LongDays) >= 0)
        {
            return Rfc850(s[(comma + 1)..], reference, out date);
        }
        return comma < 0 && s.Length > 3 && Name(s[..3], Days) >= 0 && Asctime(s[3..], out date);
    }

    // SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP "GMT"
    private static bool ImfFixdate(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        return s.Length == 25 && s[0] == ' ' && s[3] == ' ' && s[7] == ' ' && s[12] == ' ' && s[21] == ' '
            && Digits(s.Slice(1, 2), out var day) && Name(s.Slice(4, 3), Months) is var month and >= 0
            && Digits(s.Slice(8, 4), out var year) && Gmt(s[22..])
            && TimeOfDay(s.Slice(13, 8), out var hour, out var minute, out var second)
            && Create(year, month + 1, day, hour, minute, second, out date);
    }

    // SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"
    private static bool Rfc850(ReadOnlySpan<char> s, DateTimeOffset reference, out DateTimeOffset date)
    {
        date = default;
        if (!(s.Length == 23 && s[0] == ' ' && s[3] == '-' && s[7] == '-' && s[10] == ' ' && s[19] == ' '
            && Digits(s.Slice(1, 2), out var day) && Name(s.Slice(4, 3), Months) is var month and >= 0
            && Digits(s.Slice(8, 2), out var twoDigitYear) && Gmt(s[20..])
            && TimeOfDay(s.Slice(11, 8), out var hour, out var minute, out var second)))
        {
            return false;
        }
        // RFC 9110 §5.6.7: a year that appears to be more than 50 years in the future is the most recent past year
        // with the same last two digits.
        var year = (reference.UtcDateTime.Year / 100 * 100) + twoDigitYear;
        if (year > reference.UtcDateTime.Year + 50)
        {
            year -= 100;
        }
        return Create(year, month + 1, day, hour, minute, second, out date);
    }

    // SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT
    private static bool Asctime(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        if (!(s.Length == 21 && s[0] == ' ' && s[4] == ' ' && s[7] == ' ' && s[16] == ' '
            && Name(s.Slice(1, 3), Months) is var month and >= 0
            && TimeOfDay(s.Slice(8, 8), out var hour, out var minute, out var second)
            && Digits(s.Slice(17, 4), out var year)))
        {
            return false;
        }
        int day;
        if (s[5] == ' ')
        {
            if (!Digits(s.Slice(6, 1), out day))
            {
                return false;
            }
        }
        else if (!Digits(s.Slice(5, 2), out day))
        {
            return false;
        }
        return Create(year, month + 1, day, hour, minute, second, out date);
    }

    // 2DIGIT ":" 2DIGIT ":" 2DIGIT
    private static bool TimeOfDay(ReadOnlySpan<char> s, out int hour, out int minute, out int second)
    {
        return Digits(s[..2], out hour) & s[2] == ':' & Digits(s.Slice(3, 2), out minute) & s[5] == ':' & Digits(s.Slice(6, 2), out second)
            && hour <= 23 && minute <= 59 && second <= 60; // 60: a leap second
    }

    private static bool Create(int year, int month, int day, int hour, int minute, int second, out DateTimeOffset date)
    {
        date = default;
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }
        // A leap second is the last second of its minute as far as DateTimeOffset can tell.
        date = new DateTimeOffset(year, month, day, hour, minute, Math.Min(second, 59), TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            value = (value * 10) + (c - '0');
        }
        return true;
    }

    private static bool Gmt(ReadOnlySpan<char> s) => s.Equals("GMT", StringComparison.OrdinalIgnoreCase);

    private static int Name(ReadOnlySpan<char> s, string[] names)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (s.Equals(names[i], StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }
}
