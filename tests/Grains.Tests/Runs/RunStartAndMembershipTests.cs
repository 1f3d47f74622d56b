using Regatta.Grains.Runs;
using Regatta.Jobs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Created → start → WaitingForMembers → (min clients) → Warmup → (warmup elapsed) → RoundTrain.</summary>
public class RunStartAndMembershipTests
{
    [Fact]
    public void Create_records_the_run_in_created_state()
    {
        var h = new RunHarness();

        Assert.True(h.Data.Exists);
        Assert.Equal(RunHarness.RunId, h.Data.RunId);
        Assert.Equal(RunState.Created, h.State);
        Assert.Equal(RunHarness.T0, h.Data.CreatedAt);
        Assert.Equal(0, h.Data.Round);
        Assert.Null(h.Data.Current);
    }

    [Fact]
    public void Create_twice_is_refused()
    {
        var h = new RunHarness();

        var e = Assert.Throws<RegattaException>(() => h.Run.Create(RunHarness.RunId, RunHarness.DefaultSpec));
        Assert.Equal("run_exists", e.Code);
    }

    [Fact]
    public void Commands_on_a_run_that_was_never_created_are_refused_as_unknown()
    {
        var run = new RunLifecycle(new RunData { RunId = "ghost" }, new Microsoft.Extensions.Time.Testing.FakeTimeProvider());

        Assert.Equal("unknown_run", Assert.Throws<RegattaException>(run.Start).Code);
        Assert.Equal("unknown_run", Assert.Throws<RegattaException>(() => run.Join("w1")).Code);
        Assert.Equal("unknown_run", Assert.Throws<RegattaException>(run.Pause).Code);
        Assert.Equal("unknown_run", Assert.Throws<RegattaException>(() => run.Cancel("x")).Code);
        run.Tick(); // a tick of a run that does not exist does nothing
        Assert.Empty(run.TakeEffects());
    }

    [Fact]
    public void Start_moves_created_to_waiting_for_members()
    {
        var h = new RunHarness();

        var effects = h.Do(r => r.Start());

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Empty(effects);
        var transition = h.Data.Timeline[^1];
        Assert.Equal((RunState.Created, RunState.WaitingForMembers), (transition.From, transition.To));
        Assert.Equal(h.Now, transition.At);
    }

    [Fact]
    public void Start_twice_is_refused_with_invalid_state_and_leaves_the_state_unchanged()
    {
        var h = new RunHarness();
        h.Start();
        var before = h.Snap();

        var e = Assert.Throws<RegattaException>(h.Run.Start);

        Assert.Equal("invalid_state", e.Code);
        Assert.Equal(before, h.Snap());
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void Start_of_a_running_round_is_refused_too()
    {
        var h = new RunHarness();
        h.BeginFirstRound("w1", "w2");
        var before = h.Snap();

        Assert.Equal("invalid_state", Assert.Throws<RegattaException>(h.Run.Start).Code);
        Assert.Equal(before, h.Snap());
    }

    [Fact]
    public void Join_puts_the_worker_in_pending_joiners_and_not_yet_among_members()
    {
        var h = new RunHarness();
        h.Start();

        var status = h.Run.Join("w1");

        Assert.Equal(MemberStatus.Pending, status);
        Assert.Equal(["w1"], h.Data.PendingJoiners);
        Assert.Empty(h.Data.Members);
        Assert.Empty(h.Effects());
    }

    [Fact]
    public void Joining_twice_before_the_tick_is_recorded_once()
    {
        var h = new RunHarness();
        h.Start();

        h.Run.Join("w1");
        h.Run.Join("w1");

        Assert.Equal(["w1"], h.Data.PendingJoiners);
    }

    [Fact]
    public void Tick_admits_the_joiner_as_an_active_member_with_a_partition()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Join("w1");

        var effects = h.Tick();

        var member = h.Data.Members["w1"];
        Assert.Equal(MemberStatus.Active, member.Status);
        Assert.Equal(0, member.Partition);
        Assert.Equal(h.Now, member.JoinedAt);
        Assert.Empty(h.Data.PendingJoiners);
        Assert.Equal([new MembershipChanged("w1", true)], effects);
        Assert.Equal(RunState.WaitingForMembers, h.State); // 1 of minClients 2
    }

    [Fact]
    public void Partitions_are_dealt_round_robin_over_the_spec_partitions()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Data = new DataSpec { Partitions = 3 } });
        h.Start();

        h.Admit("a", "b", "c", "d");

        Assert.Equal([0, 1, 2, 0], new[] { "a", "b", "c", "d" }.Select(w => h.Data.Members[w].Partition));
    }

    [Fact]
    public void Join_of_an_active_member_says_active_and_queues_nothing()
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1");

        Assert.Equal(MemberStatus.Active, h.Run.Join("w1"));
        Assert.Empty(h.Data.PendingJoiners);
    }

    [Fact]
    public void Joiners_are_not_admitted_before_the_run_is_started()
    {
        var h = new RunHarness();
        h.Run.Join("w1");
        h.Run.Join("w2");

        var effects = h.Tick();

        Assert.Equal(RunState.Created, h.State);
        Assert.Empty(h.Data.Members);
        Assert.Empty(effects);

        h.Start();
        h.Tick();
        Assert.Equal(RunState.Warmup, h.State); // the queued joiners count once the run is started
    }

    [Fact]
    public void Fewer_members_than_min_clients_keep_the_run_waiting()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { MinClients = 3 });
        h.Start();

        h.Admit("w1", "w2");
        h.Advance(TimeSpan.FromHours(1));
        h.Tick();

        Assert.Equal(RunState.WaitingForMembers, h.State);
        Assert.Null(h.Data.Current);
    }

    [Fact]
    public void Reaching_min_clients_starts_warmup()
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1");

        h.Admit("w2");

        Assert.Equal(RunState.Warmup, h.State);
        Assert.Equal(h.Now + h.Spec.Warmup, h.Data.PhaseEndsAt);
        Assert.Equal(RunState.WaitingForMembers, h.Data.Timeline[^1].From);
        Assert.Equal(RunState.Warmup, h.Data.Timeline[^1].To);
    }

    [Fact]
    public void Warmup_does_not_end_before_its_time()
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1", "w2");

        h.Advance(h.Spec.Warmup - TimeSpan.FromMilliseconds(1));
        var effects = h.Tick();

        Assert.Equal(RunState.Warmup, h.State);
        Assert.Empty(effects);
        Assert.Null(h.Data.Current);
    }

    [Fact]
    public void Warmup_elapsed_starts_round_1_attempt_1_with_a_train_job_per_selected_client()
    {
        var h = new RunHarness();
        h.Start();
        h.Admit("w1", "w2", "w3");
        h.Advance(h.Spec.Warmup);
        var startedAt = h.Now;

        var effects = h.Tick();

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal((1, 1), (h.Data.Round, h.Data.Attempt));
        var round = h.Round;
        Assert.Equal((1, 1), (round.Round, round.Attempt));
        Assert.Equal(startedAt, round.StartedAt);
        Assert.Equal(startedAt + h.Spec.RoundDeadline, round.Deadline);
        Assert.Equal(["w1", "w2", "w3"], round.Selected);

        var opened = effects.Opened();
        Assert.Equal(3, opened.Count);
        Assert.Equal(["w1", "w2", "w3"], opened.Select(o => o.WorkerId).Order());
        Assert.Equal(opened.Count, opened.Select(o => o.JobId).Distinct().Count());
        Assert.All(opened, o =>
        {
            Assert.Equal(JobKind.Train, o.Kind);
            Assert.Equal((1, 1), (o.Round, o.Attempt));
            Assert.Equal(startedAt + h.Spec.RoundDeadline, o.Deadline);
            Assert.Equal(RunHarness.InitialModel, o.ModelHash);
            Assert.Null(o.BaseModelHash);
            Assert.Equal(h.Data.Members[o.WorkerId].Partition, o.Partition);
            Assert.Equal(round.TrainJobs[o.WorkerId], o.JobId);
        });
    }

    [Fact]
    public void Selection_strategy_decides_who_gets_a_train_job()
    {
        var spec = RunHarness.DefaultSpec with { Selection = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = 2 } };
        var h = new RunHarness(spec);

        var effects = h.BeginFirstRound("w1", "w2", "w3", "w4");

        var expected = Selection.SelectClients(["w1", "w2", "w3", "w4"], spec.Selection, spec.Seed, 1, 1);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, h.Round.Selected);
        Assert.Equal(expected, effects.Opened().Select(o => o.WorkerId).Order());
    }

    [Fact]
    public void Without_warmup_the_first_round_begins_on_the_tick_that_admits_enough_members()
    {
        var h = new RunHarness(RunHarness.DefaultSpec with { Warmup = TimeSpan.Zero });
        h.Start();

        var effects = h.Admit("w1", "w2");

        Assert.Equal(RunState.RoundTrain, h.State);
        Assert.Equal(2, effects.Opened(JobKind.Train).Count);
    }

    [Fact]
    public void Joining_a_terminal_run_is_refused()
    {
        var h = new RunHarness();
        h.Start();
        h.Run.Cancel("stop");

        var e = Assert.Throws<RegattaException>(() => h.Run.Join("w1"));
        Assert.Equal("invalid_state", e.Code);
        Assert.Empty(h.Data.PendingJoiners);
    }
}
