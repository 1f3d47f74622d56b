using Bunit;
using Regatta.Dashboard.Actions;
using Regatta.Dashboard.Components.Parts;
using Regatta.Dashboard.Views;
using Regatta.Runs;
using Regatta.Workers;

namespace Regatta.Tests;

/// <summary>The dashboard's parts rendered with real records and the view models the pages give them.</summary>
public sealed class ComponentTests : IAsyncDisposable
{
    private readonly BunitContext _context = DashboardBunit.Create();

    private static WorkerView Worker(string id, ApprovalStatus approval, Liveness liveness = Liveness.Online) => new()
    {
        WorkerId = id,
        Name = id,
        Approval = approval,
        Liveness = liveness,
        Hardware = new Hardware { DeviceKind = "cuda", DeviceName = "A100", VramBytes = 40L << 30, CpuCores = 16, RamBytes = 64L << 30 },
        TokensServed = 12_345,
        JobsDone = 7,
        JobsFailed = 1,
        Layers = new LayerRange(0, 12),
        LastSeen = DateTimeOffset.UtcNow,
    };

    [Fact]
    public void Workers_table_offers_approve_and_reject_for_pending_workers_only_and_reports_which()
    {
        string? approved = null, rejected = null;
        var table = _context.Render<WorkersTable>(p => p
            .Add(t => t.Workers, [Worker("gpu-1", ApprovalStatus.Pending), Worker("gpu-2", ApprovalStatus.Approved) with { ReportedStatus = "idle", Serving = true }])
            .Add(t => t.CanAct, true)
            .Add(t => t.Now, DateTimeOffset.UtcNow)
            .Add(t => t.OnApprove, id => approved = id)
            .Add(t => t.OnReject, id => rejected = id));

        var pending = table.Find("tr[data-worker=gpu-1]");
        Assert.Contains("40 GiB", pending.TextContent);
        Assert.Contains("12,345", pending.TextContent);
        Assert.Contains("0–11", pending.TextContent);
        Assert.Empty(table.FindAll("tr[data-worker=gpu-2] [data-testid=approve]"));
        Assert.Contains("loading", pending.TextContent); // holds layers its agent has not announced yet
        var serving = table.Find("tr[data-worker=gpu-2]");
        Assert.Contains("says “idle”", serving.TextContent);
        Assert.Contains("serving", serving.TextContent);

        table.Find("tr[data-worker=gpu-1] button[data-testid=approve]").Click();
        table.Find("tr[data-worker=gpu-1] button[data-testid=reject]").Click();
        Assert.Equal("gpu-1", approved);
        Assert.Equal("gpu-1", rejected);
    }

    [Fact]
    public void Workers_table_disables_actions_for_read_only_users()
    {
        var table = _context.Render<WorkersTable>(p => p
            .Add(t => t.Workers, [Worker("gpu-1", ApprovalStatus.Pending)])
            .Add(t => t.CanAct, false));
        Assert.True(table.Find("button[data-testid=approve]").HasAttribute("disabled"));
        Assert.True(table.Find("button[data-testid=reject]").HasAttribute("disabled"));
    }

    [Fact]
    public void Runs_table_shows_each_run_with_the_commands_its_state_allows()
    {
        var now = DateTimeOffset.UtcNow;
        (string, RunCommand)? asked = null;
        var table = _context.Render<RunsTable>(p => p
            .Add(t => t.Runs, [
                new RunSummary("fresh", "fresh", RunState.Created, 0, 0, double.NaN, now),
                new RunSummary("busy", "mnist", RunState.RoundTrain, 4, 3, 0.875, now),
                new RunSummary("held", "held", RunState.Paused, 2, 3, 0.5, now),
            ])
            .Add(t => t.CanAct, true)
            .Add(t => t.Now, now)
            .Add(t => t.OnCommand, request => asked = request));

        Assert.Single(table.FindAll("tr[data-run=fresh] [data-testid=run-start]"));
        Assert.Empty(table.FindAll("tr[data-run=fresh] [data-testid=run-pause]"));
        Assert.Contains("87.5 %", table.Find("tr[data-run=busy]").TextContent);
        Assert.Equal("RoundTrain", table.Find("tr[data-run=busy] .state-chip").GetAttribute("data-state"));
        Assert.Single(table.FindAll("tr[data-run=held] [data-testid=run-resume]"));

        table.Find("tr[data-run=busy] button[data-testid=run-pause]").Click();
        Assert.Equal(("busy", RunCommand.Pause), asked);
    }

    [Fact]
    public void Round_charts_draw_a_loss_and_an_accuracy_line_once_rounds_committed()
    {
        var empty = _context.Render<RoundCharts>(p => p.Add(c => c.Series, RoundSeries.From([])));
        Assert.Equal(2, empty.FindAll(".chart-empty").Count);

        var rounds = Enumerable.Range(1, 4).Select(r => new RoundRecord
        {
            Round = r, TrainLoss = 1.0 / r, ValidationLoss = 1.2 / r, ValidationAccuracy = 0.5 + r / 10.0, WitnessAccuracy = 0.5 + r / 11.0,
        }).ToList();
        var charts = _context.Render<RoundCharts>(p => p.Add(c => c.Series, RoundSeries.From(rounds)));
        Assert.Equal(2, charts.FindAll("[data-testid=loss-chart] path.mud-chart-line").Count);
        Assert.Equal(2, charts.FindAll("[data-testid=accuracy-chart] path.mud-chart-line").Count);
        Assert.Contains("validation loss", charts.Find("[data-testid=loss-chart]").TextContent);
        Assert.Empty(charts.FindAll(".chart-empty"));
        Assert.Empty(charts.FindAll("[data-testid=epsilon-chart]")); // no differential privacy: no ε chart
    }

    [Fact]
    public void A_run_with_differential_privacy_charts_the_epsilon_spent_per_round()
    {
        var rounds = Enumerable.Range(1, 5).Select(r => new RoundRecord { Round = r, ValidationAccuracy = 0.5, Epsilon = 0.4 * r }).ToList();
        var charts = _context.Render<RoundCharts>(p => p.Add(c => c.Series, RoundSeries.From(rounds)));
        var chart = charts.Find("[data-testid=epsilon-chart]");
        Assert.Single(chart.QuerySelectorAll("path.mud-chart-line"));
        Assert.Contains("ε spent", chart.TextContent);
        Assert.Equal([0.4, 0.8, 1.2, 1.6, 2.0], RoundSeries.From(rounds).Privacy.Single().Values.Select(v => Math.Round(v!.Value, 9)));
    }

    [Fact]
    public void Rounds_table_shows_selected_members_and_witnesses_as_counts_naming_them_in_a_tooltip()
    {
        var selected = Enumerable.Range(0, 120).Select(i => $"worker-{i:D3}").ToList();
        var table = _context.Render<RoundsTable>(p => p.Add(t => t.Rounds,
        [
            new RoundRecord { Round = 1, Selected = selected, Witnesses = ["worker-007"], UpdatesAccepted = 120 },
            new RoundRecord { Round = 2, Selected = ["worker-001"] },
        ]));

        var first = table.Find("tr[data-round='1']");
        Assert.Equal("120", first.QuerySelector("[data-testid=selected]")!.GetAttribute("data-count"));
        Assert.Contains("120 members", first.TextContent);
        Assert.DoesNotContain("worker-000", first.TextContent); // no column of ids
        Assert.Contains("1", first.QuerySelector("[data-testid=witnesses]")!.TextContent);
        Assert.Contains("1 member", table.Find("tr[data-round='2']").TextContent);
        Assert.Contains("—", table.Find("tr[data-round='2']").TextContent); // no witnesses

        // The tooltip of round 1's selected members (rounds are listed newest first: round 2's chip, then round 1's two).
        var tooltip = table.FindComponents<MemberCount>().First(c => c.Instance.Ids.Count == 120).FindComponent<MudBlazor.MudTooltip>().Instance.Text ?? "";
        Assert.StartsWith("worker-000, worker-001", tooltip);
        Assert.EndsWith($"worker-{MemberCount.Named - 1:D3} and {120 - MemberCount.Named} more", tooltip.Trim());
    }

    [Fact]
    public void Spec_editor_marks_the_lines_that_have_errors_and_quotes_them()
    {
        const string yaml = "name: x\nrounds: 0\n";
        var editor = _context.Render<SpecEditor>(p => p
            .Add(e => e.Yaml, yaml)
            .Add(e => e.Errors, SpecErrors.Locate(yaml, ["rounds: must be in [1, 100000]"])));
        var marked = Assert.Single(editor.FindAll(".gutter-line.error-line"));
        Assert.Equal("2", marked.TextContent);
        Assert.Contains("rounds: 0", editor.Find("[data-testid=spec-errors]").TextContent);
        Assert.Equal("2", editor.Find(".spec-error").GetAttribute("data-line"));
    }

    [Fact]
    public void Coverage_chart_marks_blocks_no_worker_serves()
    {
        var coverage = new LayerCoverage(5, [1, 1, 1, 0, 0], ServingWorkers: 1, Ready: false);
        var chart = _context.Render<CoverageChart>(p => p.Add(c => c.Coverage, coverage));
        Assert.Equal(5, chart.FindAll(".coverage-block").Count);
        Assert.Equal(2, chart.FindAll(".coverage-block.uncovered").Count);
        Assert.Contains("3 of 5 blocks", chart.Markup);
    }

    [Fact]
    public void Run_timeline_lists_transitions_newest_first_with_their_reason()
    {
        var t0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
        var timeline = _context.Render<RunTimeline>(p => p.Add(t => t.Transitions, [
            new RunTransition(RunState.Created, RunState.WaitingForMembers, t0, "started", 0),
            new RunTransition(RunState.WaitingForMembers, RunState.Warmup, t0.AddSeconds(5), "2 members (min 2)", 0),
        ]));
        var items = timeline.FindAll(".mud-timeline-item");
        Assert.Equal(2, items.Count);
        Assert.Contains("Warmup", items[0].TextContent);
        Assert.Contains("2 members (min 2)", items[0].TextContent);
    }

    public ValueTask DisposeAsync() => _context.DisposeAsync();
}
