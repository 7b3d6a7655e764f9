using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using CacheProxy.Configuration;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace CacheProxy.Management;

/// <summary>
/// Authenticates a management call by API key: a <c>Bearer</c> token compared in constant time with every configured
/// key (each compared whole, whatever matched before); the principal's name is the key's name. A wrong key from a
/// client address that sent wrong keys too often lately (<see cref="ManagementOptions.FailedAttemptsPerMinute"/>) is
/// answered 429; a right key is taken from any address, and a call without a key is the sign-in handshake (401,
/// not counted). The key is never logged.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory loggers, UrlEncoder encoder,
    LastGoodOptions options, ManagementRateLimiter limiter, ManagementRefusals refusals) : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggers, encoder)
{
    public const string RateLimitedItem = "CacheProxy.Management.RateLimited";
    public const string PresentedKeyItem = "CacheProxy.Management.KeyPresented";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Presented(Request.Headers.Authorization.ToString()) is not { } sent)
        {
            return Task.FromResult(AuthenticateResult.NoResult()); // the sign-in handshake: a 401 offering Basic, never counted
        }
        Context.Items[PresentedKeyItem] = true;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(sent));
        string? name = null;
        foreach (var (keyName, key) in options.Current.Management.ApiKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, SHA256.HashData(Encoding.UTF8.GetBytes(key))))
            {
                name = keyName;
            }
        }
        if (name is null)
        {
            if (limiter.IsBlocked(Context))
            {
                Context.Items[RateLimitedItem] = true;
                return Task.FromResult(AuthenticateResult.Fail("too many failed attempts"));
            }
            return Task.FromResult(AuthenticateResult.Fail("the key matches no configured key"));
        }
        // A right key is taken from any address, one that failed often included: operators behind one tunnel share
        // it, and the keys' length, not this limit, is what makes them unguessable (docs/security.md).
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, name)], CacheProxyManagementDefaults.AuthenticationScheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), CacheProxyManagementDefaults.AuthenticationScheme)));
    }

    /// <summary>A refused management call is answered by <see cref="ManagementRefusals"/>; any other challenge is a 401 offering <see cref="Challenges"/>.</summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (refusals.TryAnswer(Context, out var answered))
        {
            return answered;
        }
        Response.Headers[HeaderNames.WWWAuthenticate] = Challenges;
        return base.HandleChallengeAsync(properties);
    }

    /// <summary>A refused management call whose caller had a valid key (wrong port, network) is answered by <see cref="ManagementRefusals"/>.</summary>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        refusals.TryAnswer(Context, out var answered) ? answered : base.HandleForbiddenAsync(properties);

    /// <summary>What a 401 offers: a Bearer key for tools, Basic for a browser (which then asks for it).</summary>
    public static readonly Microsoft.Extensions.Primitives.StringValues Challenges = new(["Bearer", "Basic realm=\"CacheProxy management\", charset=\"UTF-8\""]);

    /// <summary>
    /// The key in <c>Authorization: Bearer {key}</c>, or the password of <c>Authorization: Basic</c> (any user name) —
    /// the way a browser can present it to the dashboard; null when neither is sent. A Basic value that is not
    /// base64 of "user:password" presents an empty key, which matches none.
    /// </summary>
    private static string? Presented(string header)
    {
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var credentials = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            var colon = credentials.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? string.Empty : credentials[(colon + 1)..];
        }
        catch (FormatException)
        {
            return string.Empty;
        }
    }
}
