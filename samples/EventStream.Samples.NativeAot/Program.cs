using System.Security.Claims;
using System.Text.Encodings.Web;
using EventStream;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

// dotnet publish samples/EventStream.Samples.NativeAot -c Release -r linux-x64   (needs clang)
var builder = WebApplication.CreateSlimBuilder(args);
var key = builder.Configuration["ApiKey"] ?? throw new InvalidOperationException("Set ApiKey (the operator's key for /admin/dead-letters).");
builder.Services.AddAuthentication("key").AddScheme<AuthenticationSchemeOptions, KeyHandler>("key", null);
builder.Services.AddAuthorization();
builder.Services.AddSingleton(new OperatorKey(key));
builder.Services.AddEventPipeline<PipelineEvent>("events", (p, _) => p
    .Transform("check", e => e.Type == "poison" ? throw new InvalidDataException("poison event") : e)
    .Sink("count", _ => Counter.Increment())
    .Build())
    .ConfigureOptions(o => o.Retry = RetryOptions.None);
builder.Services.AddHealthChecks().AddEventPipelineHealthCheck<PipelineEvent>("events");

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapEventIngest<PipelineEvent>("/events", o =>
{
    o.PipelineName = "events";
    o.MaxBodyBytes = 64 * 1024;
});
app.MapDeadLetters<PipelineEvent>("/admin/dead-letters", "events");
app.MapHealthChecks("/healthz");
app.MapGet("/delivered", () => Counter.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
app.Run();

/// <summary>Events the sink counted.</summary>
internal static class Counter
{
    private static long _value;

    public static long Value => Interlocked.Read(ref _value);

    public static void Increment() => Interlocked.Increment(ref _value);
}

/// <summary>The operator's key.</summary>
internal sealed record OperatorKey(string Value);

/// <summary>An operator is a caller that sends the key in <c>X-Api-Key</c>.</summary>
internal sealed class KeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, OperatorKey key)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
        Task.FromResult(Request.Headers["X-Api-Key"] == key.Value
            ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator")], "key")), "key"))
            : AuthenticateResult.NoResult());
}
