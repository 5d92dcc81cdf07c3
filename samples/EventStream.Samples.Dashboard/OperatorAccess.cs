using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// Who may read the dead letters (they hold the events, user ids included), replay them and switch the demo fault: the
/// operator. Without <c>--operator-token</c>, a caller on this machine (a loopback connection), as when the dashboard
/// listens on localhost only, its default; with a token, only a caller that sends it (<c>Authorization: Bearer …</c>;
/// the page takes it once from its address, <c>#token=…</c>), loopback or not: behind a reverse proxy on the same
/// machine every caller is a loopback connection, so set a token there. Posting events, the live figures and the
/// metrics stay open, as a website's analytics endpoint is.
/// </summary>
public static class OperatorAccess
{
    /// <summary>The authentication scheme.</summary>
    public const string Scheme = "Operator";

    /// <summary>The authorization policy the operator's endpoints require.</summary>
    public const string Policy = "operator";

    /// <summary>Registers the scheme and the policy.</summary>
    /// <param name="services">The services.</param>
    /// <param name="token">The operator token, or <see langword="null"/> to admit loopback callers only.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddOperatorAccess(this IServiceCollection services, string? token)
    {
        services.AddAuthentication(Scheme).AddScheme<OperatorAuthenticationOptions, OperatorAuthenticationHandler>(Scheme, o => o.Token = string.IsNullOrWhiteSpace(token) ? null : token);
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        return services;
    }

    internal sealed class OperatorAuthenticationOptions : AuthenticationSchemeOptions
    {
        public string? Token { get; set; }
    }

    private sealed class OperatorAuthenticationHandler(IOptionsMonitor<OperatorAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<OperatorAuthenticationOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Options.Token is { } token)
            {
                var header = Request.Headers.Authorization.ToString();
                if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                {
                    return Task.FromResult(AuthenticateResult.NoResult());
                }

                // Compared as digests, in fixed time: neither the token's length nor its prefix leaks through timing.
                var given = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
                return Task.FromResult(CryptographicOperations.FixedTimeEquals(given, SHA256.HashData(Encoding.UTF8.GetBytes(token)))
                    ? Success("token")
                    : AuthenticateResult.Fail("The operator token is wrong."));
            }

            var remote = Context.Connection.RemoteIpAddress;
            return Task.FromResult(remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote)
                ? Success("loopback")
                : AuthenticateResult.NoResult());
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = "Bearer";
            return Task.CompletedTask;
        }

        private AuthenticateResult Success(string how) =>
            AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator"), new Claim("via", how)], OperatorAccess.Scheme)), OperatorAccess.Scheme));
    }
}
