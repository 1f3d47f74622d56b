using MudBlazor;

namespace Regatta.Dashboard.Components.Layout;

/// <summary>Regatta's colours: deep navy chrome, a sea-blue primary, coral for attention.</summary>
public static class DashboardTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#1565c0",
            Secondary = "#00897b",
            Tertiary = "#7e57c2",
            Info = "#0288d1",
            Success = "#2e7d32",
            Warning = "#ef6c00",
            Error = "#d84315",
            AppbarBackground = "#0d2137",
            AppbarText = "#ffffff",
            DrawerBackground = "#f4f6f9",
            Background = "#f7f9fc",
            TableLines = "#e3e8ef",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["Inter", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"] },
        },
        LayoutProperties = new LayoutProperties { DefaultBorderRadius = "8px", DrawerWidthLeft = "220px" },
    };
}
