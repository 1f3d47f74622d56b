using Regatta.Dashboard;
using Regatta.Dashboard.Access;

namespace Regatta.Tests;

public sealed class AccessTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("regatta-dashboard-").FullName;

    [Fact]
    public void Production_mode_refuses_to_start_without_an_admin_password()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DashboardCredentials.Resolve(new RegattaDashboardOptions(), production: true, _dataDir));
        Assert.Contains("Regatta:Dashboard:AdminPassword", error.Message);
        Assert.False(File.Exists(Path.Combine(_dataDir, DashboardCredentials.PasswordFileName)));
    }

    [Fact]
    public void Local_mode_generates_a_password_once_keeps_it_private_and_reuses_it()
    {
        var first = DashboardCredentials.Resolve(new RegattaDashboardOptions(), production: false, _dataDir);
        var file = Path.Combine(_dataDir, DashboardCredentials.PasswordFileName);
        var password = File.ReadAllText(file).Trim();
        Assert.True(password.Length >= 20);
        Assert.DoesNotContain(password, first.Notice); // the log gets the path, never the password
        Assert.Contains(file, first.Notice);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(DashboardRoles.Admin, first.Authenticate("admin", password));

        var again = DashboardCredentials.Resolve(new RegattaDashboardOptions(), production: false, _dataDir);
        Assert.Equal(DashboardRoles.Admin, again.Authenticate("admin", password));
        Assert.DoesNotContain(password, again.Notice); // said once: a restart only says where it is
    }

    [Theory]
    [InlineData("dev-dashboard-password", null, "Regatta:Dashboard:AdminPassword")] // deploy/compose.yaml
    [InlineData("CHANGE-ME", null, "Regatta:Dashboard:AdminPassword")]             // deploy/k8s/secrets.example.yaml
    [InlineData("a-real-password-1", "change-me-viewer", "Regatta:Dashboard:ViewerPassword")]
    public void Production_mode_refuses_the_example_passwords_of_the_deploy_files(string admin, string? viewer, string setting)
    {
        var options = new RegattaDashboardOptions { AdminPassword = admin, ViewerUser = "viewer", ViewerPassword = viewer };

        var error = Assert.Throws<InvalidOperationException>(() => DashboardCredentials.Resolve(options, production: true, _dataDir));
        Assert.StartsWith(setting + " is an example value", error.Message);
        Assert.DoesNotContain(viewer ?? admin, error.Message);
        DashboardCredentials.Resolve(options, production: false, _dataDir); // a local silo may use them
    }

    [Fact]
    public void Configured_accounts_sign_in_with_their_role_and_nothing_else_does()
    {
        var credentials = DashboardCredentials.Resolve(new RegattaDashboardOptions
        {
            AdminUser = "ops", AdminPassword = "admin-password", ViewerUser = "watcher", ViewerPassword = "viewer-password",
        }, production: true, _dataDir);
        Assert.Equal(DashboardRoles.Admin, credentials.Authenticate("ops", "admin-password"));
        Assert.Equal(DashboardRoles.Viewer, credentials.Authenticate("watcher", "viewer-password"));
        Assert.Null(credentials.Authenticate("ops", "viewer-password"));
        Assert.Null(credentials.Authenticate("watcher", "admin-password"));
        Assert.Null(credentials.Authenticate("ops", ""));
        Assert.Null(credentials.Authenticate(null, "admin-password"));
        Assert.False(File.Exists(Path.Combine(_dataDir, DashboardCredentials.PasswordFileName)));
    }

    [Theory]
    [InlineData("short", null, "AdminPassword must be at least")]
    [InlineData("admin-password", "short", "ViewerPassword must be at least")]
    public void Weak_passwords_are_refused_naming_the_setting(string admin, string? viewer, string expected)
    {
        var error = Assert.Throws<InvalidOperationException>(() => DashboardCredentials.Resolve(
            new RegattaDashboardOptions { AdminPassword = admin, ViewerPassword = viewer }, production: false, _dataDir));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void The_viewer_cannot_share_the_admin_name()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DashboardCredentials.Resolve(
            new RegattaDashboardOptions { AdminPassword = "admin-password", ViewerUser = "Admin", ViewerPassword = "viewer-password" }, production: false, _dataDir));
        Assert.Contains("ViewerUser must differ", error.Message);
    }

    [Theory]
    [InlineData("/runs/a", "/runs/a")]
    [InlineData("/", "/")]
    [InlineData("//evil.example/x", "/")]
    [InlineData("/\\evil.example", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/signin?returnUrl=/signin", "/")]
    [InlineData(null, "/")]
    public void Sign_in_returns_only_to_local_pages(string? url, string expected) =>
        Assert.Equal(expected, SignInEndpoints.LocalUrl(url));

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);
}
