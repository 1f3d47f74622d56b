using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using MudBlazor;
using Regatta.Dashboard.Access;
using Regatta.Dashboard.Actions;
using Regatta.Dashboard.Feed;

namespace Regatta.Dashboard.Components;

/// <summary>
/// A page that renders the shared feed's snapshot and re-renders when a new one is published. Pages never poll the
/// grains themselves: they subscribe, and the one poller serves every viewer.
/// </summary>
public abstract class FeedPage : ComponentBase, IDisposable
{
    private IDisposable? _subscription;

    [Inject] protected DashboardFeed Feed { get; set; } = default!;
    [Inject] protected DashboardActions Operations { get; set; } = default!;
    [Inject] protected ISnackbar Snackbar { get; set; } = default!;
    [Inject] protected TimeProvider Time { get; set; } = default!;
    [CascadingParameter] private Task<AuthenticationState>? AuthenticationState { get; set; }

    protected FeedSnapshot Snapshot { get; private set; } = FeedSnapshot.Empty;
    /// <summary>Whether the signed-in user may act; the actions check it again on the server.</summary>
    protected bool CanAct { get; private set; }
    protected bool Busy { get; private set; }
    protected DateTimeOffset Now => Snapshot.Loaded ? Snapshot.At : Time.GetUtcNow();

    protected override async Task OnInitializedAsync()
    {
        if (AuthenticationState is not null) CanAct = (await AuthenticationState).User.IsInRole(DashboardRoles.Admin);
        Snapshot = Feed.Current;
        OnSnapshot();
        _subscription = Feed.Subscribe(snapshot => _ = InvokeAsync(() =>
        {
            Snapshot = snapshot;
            OnSnapshot();
            StateHasChanged();
        }));
    }

    /// <summary>Called on the renderer's thread whenever a new snapshot arrives, before rendering it.</summary>
    protected virtual void OnSnapshot() { }

    /// <summary>Runs an operator action, shows its outcome, and keeps the buttons disabled while it runs.</summary>
    protected async Task<ActionOutcome> Act(Func<Task<ActionOutcome>> action)
    {
        Busy = true;
        try
        {
            var outcome = await action();
            Snackbar.Add(outcome.Message, outcome.Succeeded ? Severity.Success : Severity.Error);
            return outcome;
        }
        finally
        {
            Busy = false;
        }
    }

    protected Task<ActionOutcome> Command(string runId, RunCommand command, string? reason = null) => Act(() => command switch
    {
        RunCommand.Start => Operations.StartRun(runId),
        RunCommand.Pause => Operations.PauseRun(runId),
        RunCommand.Resume => Operations.ResumeRun(runId),
        _ => Operations.CancelRun(runId, reason),
    });

    public virtual void Dispose()
    {
        _subscription?.Dispose();
        GC.SuppressFinalize(this);
    }
}
