using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using MudBlazor.Services;
using Orleans.Dashboard;
using Regatta.Dashboard;
using Regatta.Dashboard.Access;
using Regatta.Dashboard.Actions;
using Regatta.Dashboard.Components;
using Regatta.Dashboard.Feed;

// In the host builder's namespace, as ASP.NET Core's own Add*/Map* are, so a host needs no extra using to take it in.
namespace Microsoft.AspNetCore.Builder;

/// <summary>How a host (the Silo, or a separate web app with an Orleans client) takes the dashboard in.</summary>
public static class DashboardSetup
{
    /// <summary>
    /// Registers the dashboard: Blazor with interactive server rendering, MudBlazor, cookie sign-in, the shared feed.
    /// The host must provide IGrainFactory (a silo or an Orleans client). Throws at once when the accounts are
    /// misconfigured, e.g. production mode without an admin password.
    /// </summary>
    public static WebApplicationBuilder AddRegattaDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Static assets of MudBlazor and this library are served from the build output in every environment (the
        // SDK only does so in Development); a published app has them in wwwroot and this call then does nothing.
        builder.WebHost.UseStaticWebAssets();
        var credentials = DashboardCredentials.FromConfiguration(builder.Configuration);
        services.AddSingleton(credentials);
        services.AddOptions<RegattaDashboardOptions>().Bind(builder.Configuration.GetSection(RegattaDashboardOptions.Section))
            .Validate(o => o.RefreshInterval >= TimeSpan.FromMilliseconds(100) && o.RefreshInterval <= TimeSpan.FromMinutes(1),
                "Regatta:Dashboard:RefreshInterval must be between 100 ms and 1 minute")
            .ValidateOnStart();

        services.AddRazorComponents().AddInteractiveServerComponents();
        // Messages at the bottom, where they do not cover the page's own buttons at the top right.
        services.AddMudServices(mud => mud.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomRight);
        services.AddCascadingAuthenticationState();
        services.AddAuthentication(DashboardRoles.Scheme).AddCookie(DashboardRoles.Scheme, cookie =>
        {
            cookie.Cookie.Name = "regatta.dashboard";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.LoginPath = SignInEndpoints.SignInPath;
            cookie.AccessDeniedPath = "/denied";
            cookie.ReturnUrlParameter = "returnUrl";
            cookie.SlidingExpiration = true;
            cookie.ExpireTimeSpan = builder.Configuration.GetSection(RegattaDashboardOptions.Section).Get<RegattaDashboardOptions>()?.SessionLifetime
                ?? new RegattaDashboardOptions().SessionLifetime;
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(DashboardRoles.ViewPolicy, p => p.AddAuthenticationSchemes(DashboardRoles.Scheme).RequireRole(DashboardRoles.Admin, DashboardRoles.Viewer))
            .AddPolicy(DashboardRoles.AdminPolicy, p => p.AddAuthenticationSchemes(DashboardRoles.Scheme).RequireRole(DashboardRoles.Admin));
        services.AddAntiforgery();
        // Sign-in cookies and anti-forgery tokens stay valid across restarts: the keys live with the silo's data,
        // not in a home folder that a container loses.
        services.AddDataProtection().SetApplicationName("Regatta.Dashboard")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(Path.GetFullPath(builder.Configuration["Regatta:DataDir"] ?? "data"), "dashboard-keys")));

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DashboardFeed>();
        services.AddSingleton<SnapshotReader>();
        services.AddHostedService<FeedPoller>();
        services.AddHostedService<CredentialsNotice>();
        services.AddScoped<DashboardActions>();
        return builder;
    }

    /// <summary>
    /// Maps the dashboard at "/" (pages, sign-in, static assets) and Orleans' own dashboard at /orleans for admins.
    /// Orleans' dashboard also needs AddDashboard() on the silo (or the client) builder; without it /orleans says so.
    /// </summary>
    public static WebApplication MapRegattaDashboard(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets();
        app.MapDashboardSignIn();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        app.MapGet("/dashboard", () => Results.Redirect("/")); // the volunteer network's browser link
        MapOrleansDashboard(app);
        return app;
    }

    private static void MapOrleansDashboard(WebApplication app)
    {
        try
        {
            app.MapOrleansDashboard(DashboardPaths.OrleansDashboard).RequireAuthorization(DashboardRoles.AdminPolicy);
        }
        catch (InvalidOperationException e)
        {
            app.Logger.LogWarning("Orleans dashboard is not available at {Path}: {Reason}", DashboardPaths.OrleansDashboard, e.Message);
            app.MapGet(DashboardPaths.OrleansDashboard, () => Results.Text(
                    "Orleans' dashboard is not enabled on this host: call AddDashboard() on the silo builder (or the client builder).",
                    "text/plain", statusCode: StatusCodes.Status404NotFound))
                .RequireAuthorization(DashboardRoles.AdminPolicy);
        }
    }
}
