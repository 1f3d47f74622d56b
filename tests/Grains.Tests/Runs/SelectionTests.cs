using Regatta.Grains.Runs;
using Regatta.Runs;

namespace Regatta.Grains.Tests.Runs;

/// <summary>Client and witness selection: deterministic from seed, round and attempt; never more than available.</summary>
public class SelectionTests
{
    private static readonly string[] Members = Enumerable.Range(1, 12).Select(i => $"worker-{i:D2}").ToArray();

    private static readonly SelectionSpec RandomK = new() { Strategy = SelectionStrategy.RandomK, K = 4 };
    private static readonly SelectionSpec Fraction = new() { Strategy = SelectionStrategy.Fraction, Fraction = 0.25 };
    private static readonly SelectionSpec All = new() { Strategy = SelectionStrategy.All };

    public static TheoryData<SelectionStrategy> Strategies => [SelectionStrategy.All, SelectionStrategy.RandomK, SelectionStrategy.Fraction];

    private static SelectionSpec SpecFor(SelectionStrategy strategy) => strategy switch
    {
        SelectionStrategy.All => All,
        SelectionStrategy.RandomK => RandomK,
        _ => Fraction,
    };

    private static string[] Shuffled(IEnumerable<string> items, int seed)
    {
        var array = items.ToArray();
        new Random(seed).Shuffle(array);
        return array;
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void Same_seed_round_and_attempt_give_the_same_clients_whatever_the_input_order(SelectionStrategy strategy)
    {
        var spec = SpecFor(strategy);
        for (var round = 1; round <= 10; round++)
        {
            var reference = Selection.SelectClients(Members, spec, 42, round, 1);
            for (var order = 0; order < 5; order++)
                Assert.Equal(reference, Selection.SelectClients(Shuffled(Members, order), spec, 42, round, 1));
            Assert.Equal(reference, Selection.SelectClients(Enumerable.Reverse(Members).ToList(), spec, 42, round, 1));
        }
    }

    [Theory]
    [InlineData(SelectionStrategy.RandomK)]
    [InlineData(SelectionStrategy.Fraction)]
    public void Other_seeds_give_other_selections_over_several_rounds(SelectionStrategy strategy)
    {
        var spec = SpecFor(strategy);
        var rounds = Enumerable.Range(1, 8).ToList();
        string Picks(long seed) => string.Join(" | ", rounds.Select(r => string.Join(",", Selection.SelectClients(Members, spec, seed, r, 1))));

        Assert.Equal(Picks(42), Picks(42));
        Assert.NotEqual(Picks(42), Picks(43));
        Assert.NotEqual(Picks(42), Picks(1));
        Assert.NotEqual(Picks(1), Picks(-7));
    }

    [Fact]
    public void Rounds_and_attempts_of_one_run_do_not_all_pick_the_same_clients()
    {
        var byRound = Enumerable.Range(1, 8).Select(r => string.Join(",", Selection.SelectClients(Members, RandomK, 42, r, 1))).ToHashSet();
        var byAttempt = Enumerable.Range(1, 8).Select(a => string.Join(",", Selection.SelectClients(Members, RandomK, 42, 1, a))).ToHashSet();

        Assert.True(byRound.Count > 1, "every round selected the same clients");
        Assert.True(byAttempt.Count > 1, "every attempt selected the same clients");
    }

    [Fact]
    public void Over_many_rounds_every_member_gets_selected()
    {
        var everSelected = Enumerable.Range(1, 50).SelectMany(r => Selection.SelectClients(Members, RandomK, 42, r, 1)).ToHashSet();

        Assert.Equal(Members.ToHashSet(), everSelected);
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void The_selection_is_a_sorted_set_of_distinct_active_members(SelectionStrategy strategy)
    {
        for (var round = 1; round <= 20; round++)
        {
            var picked = Selection.SelectClients(Shuffled(Members, round), SpecFor(strategy), 9, round, 1);

            Assert.Subset(Members.ToHashSet(), picked.ToHashSet());
            Assert.Equal(picked.Count, picked.Distinct().Count());
            Assert.Equal(picked.Order(StringComparer.Ordinal), picked);
        }
    }

    [Fact]
    public void All_selects_every_active_member_for_any_seed()
    {
        Assert.Equal(Members, Selection.SelectClients(Shuffled(Members, 3), All, 1, 1, 1));
        Assert.Equal(Members, Selection.SelectClients(Members, All, 999, 7, 3));
    }

    [Theory]
    [InlineData(4, 12, 4)]
    [InlineData(4, 3, 3)]     // K larger than the members available
    [InlineData(1, 12, 1)]
    [InlineData(12, 12, 12)]
    [InlineData(4, 0, 0)]
    public void RandomK_selects_k_but_never_more_than_available(int k, int available, int expected)
    {
        var spec = new SelectionSpec { Strategy = SelectionStrategy.RandomK, K = k };

        Assert.Equal(expected, Selection.SelectClients(Members.Take(available).ToList(), spec, 42, 1, 1).Count);
    }

    [Theory]
    [InlineData(0.25, 12, 3)]
    [InlineData(0.5, 5, 3)]    // rounded up
    [InlineData(0.01, 12, 1)]  // at least one
    [InlineData(1.0, 12, 12)]
    [InlineData(0.5, 1, 1)]
    [InlineData(0.5, 0, 0)]
    public void Fraction_selects_the_rounded_up_fraction_but_at_least_one_and_never_more_than_available(double fraction, int available, int expected)
    {
        var spec = new SelectionSpec { Strategy = SelectionStrategy.Fraction, Fraction = fraction };

        Assert.Equal(expected, Selection.SelectClients(Members.Take(available).ToList(), spec, 42, 1, 1).Count);
    }

    // ---- witnesses -----------------------------------------------------------------------------------

    [Fact]
    public void Witnesses_prefer_members_who_did_not_train()
    {
        var trainers = Members.Take(8).ToList();
        var idle = Members.Skip(8).ToHashSet();

        for (var round = 1; round <= 20; round++)
        {
            var witnesses = Selection.SelectWitnesses(Members, trainers, 3, 42, round, 1);

            Assert.Equal(3, witnesses.Count);
            Assert.Subset(idle, witnesses.ToHashSet());
        }
    }

    [Fact]
    public void When_too_few_members_are_idle_the_rest_of_the_witnesses_come_from_the_trainers()
    {
        var trainers = Members.Take(10).ToList();
        var idle = Members.Skip(10).ToList();

        var witnesses = Selection.SelectWitnesses(Members, trainers, 4, 42, 1, 1);

        Assert.Equal(4, witnesses.Count);
        Assert.Subset(witnesses.ToHashSet(), idle.ToHashSet());
        Assert.Equal(2, witnesses.Intersect(trainers).Count());
        Assert.Equal(witnesses.Order(StringComparer.Ordinal), witnesses);
    }

    [Fact]
    public void Witnesses_are_never_more_than_the_members()
    {
        var witnesses = Selection.SelectWitnesses(Members.Take(3).ToList(), Members.Take(2).ToList(), 10, 42, 1, 1);

        Assert.Equal(Members.Take(3), witnesses);
    }

    [Fact]
    public void No_witnesses_are_chosen_when_none_are_asked_for()
    {
        Assert.Empty(Selection.SelectWitnesses(Members, Members.Take(3).ToList(), 0, 42, 1, 1));
    }

    [Fact]
    public void Witness_choice_is_deterministic_and_independent_of_input_order()
    {
        var trainers = Members.Take(4).ToList();
        for (var round = 1; round <= 10; round++)
        {
            var reference = Selection.SelectWitnesses(Members, trainers, 3, 42, round, 2);
            Assert.Equal(reference, Selection.SelectWitnesses(Shuffled(Members, round), Shuffled(trainers, round), 3, 42, round, 2));
        }
    }

    [Fact]
    public void Witness_choice_varies_with_the_seed_and_the_round()
    {
        var trainers = Members.Take(4).ToList();
        string Picks(long seed) => string.Join(" | ",
            Enumerable.Range(1, 8).Select(r => string.Join(",", Selection.SelectWitnesses(Members, trainers, 2, seed, r, 1))));

        Assert.NotEqual(Picks(42), Picks(43));
        var byRound = Enumerable.Range(1, 8).Select(r => string.Join(",", Selection.SelectWitnesses(Members, trainers, 2, 42, r, 1))).ToHashSet();
        Assert.True(byRound.Count > 1);
    }
}
