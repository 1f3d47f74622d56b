using System.Diagnostics.Metrics;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Regatta.Dashboard.Access;

/// <summary>The form posts of the sign-in page. Both bind from the form, so ASP.NET Core checks their anti-forgery token.</summary>
public static class SignInEndpoints
{
    public const string SignInPath = "/signin";
    public const string SignInPost = "/account/signin";
    public const string SignOutPost = "/account/signout";

    public static IEndpointRouteBuilder MapDashboardSignIn(this IEndpointRouteBuilder endpoints)
    {
        var signIns = endpoints.ServiceProvider.GetRequiredService<IMeterFactory>().Create(DashboardMetrics.MeterName)
            .CreateCounter<long>("regatta.dashboard.signins", description: "Dashboard sign-in attempts by outcome");

        endpoints.MapPost(SignInPost, async ([FromForm] SignInForm form, HttpContext http, DashboardCredentials credentials, ILoggerFactory logs) =>
        {
            var logger = logs.CreateLogger(typeof(SignInEndpoints).FullName!);
            var returnUrl = LocalUrl(form.ReturnUrl);
            var role = credentials.Authenticate(form.UserName?.Trim(), form.Password);
            if (role is null)
            {
                signIns.Add(1, new KeyValuePair<string, object?>("outcome", "refused"));
                logger.LogWarning("Dashboard sign-in refused for user {User} from {Address}", Truncate(form.UserName), http.Connection.RemoteIpAddress);
                return Results.LocalRedirect($"{SignInPath}?error=1&returnUrl={Uri.EscapeDataString(returnUrl)}");
            }
            var identity = new ClaimsIdentity(
                [new Claim(ClaimTypes.Name, credentials.UserNameFor(role)), new Claim(ClaimTypes.Role, role)],
                DashboardRoles.Scheme, ClaimTypes.Name, ClaimTypes.Role);
            await http.SignInAsync(DashboardRoles.Scheme, new ClaimsPrincipal(identity));
            signIns.Add(1, new KeyValuePair<string, object?>("outcome", role));
            logger.LogInformation("Dashboard sign-in: {User} as {Role}", credentials.UserNameFor(role), role);
            return Results.LocalRedirect(returnUrl);
        }).AllowAnonymous();

        endpoints.MapPost(SignOutPost, async ([FromForm] SignOutForm _, HttpContext http) =>
        {
            await http.SignOutAsync(DashboardRoles.Scheme);
            return Results.LocalRedirect(SignInPath);
        }).AllowAnonymous();

        return endpoints;
    }

    /// <summary>Only paths on this site: an absolute or protocol-relative return URL would make sign-in an open redirect.</summary>
    public static string LocalUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.Length <= 2000 && url[0] == '/' && (url.Length == 1 || url[1] is not '/' and not '\\')
            && !url.StartsWith(SignInPath, StringComparison.OrdinalIgnoreCase)
            ? url
            : "/";

    private static string Truncate(string? text) => text is null ? "" : text.Length <= 64 ? text : text[..64];

    public sealed class SignInForm
    {
        public string? UserName { get; set; }
        public string? Password { get; set; }
        public string? ReturnUrl { get; set; }
    }

    public sealed class SignOutForm
    {
        public string? Reason { get; set; }
    }
}
