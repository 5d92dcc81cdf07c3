using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace EventStream.Samples.Dashboard;

/// <summary>
/// Who may read the dead letters (they hold users' ids and URLs), replay or discard them and switch the demo fault: a
/// caller that sends the operator's API key in the <c>X-Api-Key</c> header. The key comes from configuration
/// (<c>Dashboard:ApiKey</c>: appsettings, the environment variable <c>Dashboard__ApiKey</c>, or
/// <c>--Dashboard:ApiKey KEY</c>); without one, a random key is made at start-up and logged, so the endpoints are never
/// open. A header is something a cross-site form or a plain link cannot send, and a cross-origin script that tries
/// needs a CORS preflight this app does not answer. Posting events, the live figures and the metrics stay open, as a
/// website's analytics endpoint is (the posts are rate limited per client address).
/// </summary>
public static partial class ApiKeyAuthentication
{
    /// <summary>The authentication scheme.</summary>
    public const string Scheme = "ApiKey";

    /// <summary>The authorization policy the operator's endpoints require.</summary>
    public const string Policy = "operator";

    /// <summary>The request header that carries the key.</summary>
    public const string Header = "X-Api-Key";

    /// <summary>The configuration key of the API key.</summary>
    public const string ConfigurationKey = "Dashboard:ApiKey";

    /// <summary>Registers the scheme and the policy, with the configured key or a generated one.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuredKey">The configured key, or <see langword="null"/> to generate one (logged at start-up).</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services, string? configuredKey)
    {
        var generated = string.IsNullOrWhiteSpace(configuredKey);
        var key = generated ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) : configuredKey!.Trim();
        services.AddAuthentication(Scheme).AddScheme<ApiKeyOptions, ApiKeyHandler>(Scheme, o => o.Key = key);
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        if (generated)
        {
            services.AddHostedService(sp => new GeneratedKeyNotice(sp.GetRequiredService<ILogger<ApiKeyHandler>>(), key));
        }

        return services;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No API key is configured (Dashboard:ApiKey): the dead letters, Replay and the fault switch take this one, made for this run: {Key}")]
    private static partial void LogGeneratedKey(ILogger logger, string key);

    /// <summary>The scheme's options: the one key it accepts.</summary>
    public sealed class ApiKeyOptions : AuthenticationSchemeOptions
    {
        /// <summary>Gets or sets the key.</summary>
        public string Key { get; set; } = string.Empty;
    }

    /// <summary>Reads <c>X-Api-Key</c>: no header, no identity (401 on the operator's endpoints); a wrong key fails (401).</summary>
    public sealed class ApiKeyHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
    {
        /// <inheritdoc />
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var values) || values.ToString() is not { Length: > 0 } given)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            // Compared as digests, in fixed time: neither the key's length nor its prefix leaks through timing.
            var match = CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given.Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(Options.Key)));
            return Task.FromResult(match
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], ApiKeyAuthentication.Scheme)), ApiKeyAuthentication.Scheme))
                : AuthenticateResult.Fail("The API key is wrong."));
        }

        /// <inheritdoc />
        protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = ApiKeyAuthentication.Scheme;
            await Context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = Context,
                ProblemDetails = { Status = StatusCodes.Status401Unauthorized, Title = "An API key is required", Detail = $"Send the operator's API key in the {Header} header." },
            });
        }
    }

    private sealed class GeneratedKeyNotice(ILogger logger, string key) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            LogGeneratedKey(logger, key);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
