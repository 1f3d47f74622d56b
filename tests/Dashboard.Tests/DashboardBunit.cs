using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Services;
using Regatta.Dashboard;
using Regatta.Dashboard.Access;
using Regatta.Dashboard.Actions;
using Regatta.Dashboard.Feed;

namespace Regatta.Tests;

/// <summary>A bunit context with what the dashboard's components need: MudBlazor, the feed, a signed-in user, and (for pages) the grains.</summary>
public static class DashboardBunit
{
    public static BunitContext Create(string role = DashboardRoles.Admin, IGrainFactory? grains = null)
    {
        var context = new BunitContext();
        context.JSInterop.Mode = JSRuntimeMode.Loose;
        var services = context.Services;
        services.AddMudServices();
        services.AddLogging();
        services.AddMetrics();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<DashboardFeed>();
        services.AddSingleton(Options.Create(new RegattaDashboardOptions { RefreshInterval = TimeSpan.FromMilliseconds(200) }));
        if (grains is not null)
        {
            services.AddSingleton(grains);
            services.AddSingleton<SnapshotReader>();
            services.AddSingleton<FeedPoller>();
            services.AddScoped<DashboardActions>();
        }
        var user = context.AddAuthorization();
        user.SetAuthorized(role == DashboardRoles.Admin ? "admin" : "viewer");
        user.SetRoles(role);
        if (role == DashboardRoles.Admin) user.SetPolicies(DashboardRoles.AdminPolicy, DashboardRoles.ViewPolicy);
        else user.SetPolicies(DashboardRoles.ViewPolicy);
        context.Render<MudPopoverProvider>();
        return context;
    }
}
