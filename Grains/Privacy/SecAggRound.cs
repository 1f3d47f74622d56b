using Regatta.Learning.Privacy.SecureAggregation;
using Regatta.Runs;

namespace Regatta.Grains.Privacy;

/// <summary>
/// One round attempt's secure aggregation on the coordinator: maps workers to member indices, hands each member's
/// message to a <see cref="SecAggCoordinator"/> as that member, answers each member with only what is addressed to it,
/// and closes a phase when every member it waits for answered (or is gone) or the phase's deadline passed:
/// AdvertiseKeys and ShareKeys get <see cref="SecAggRoundConfig.PhaseTimeout"/> each, MaskedInput the later of the
/// round's input deadline (members train in it) and a phase timeout, Unmasking a phase timeout. A phase closing with
/// fewer than t members fails the round. Plain and clock-driven so the rules are tested on a fake clock; the
/// SecAggRoundGrain carries it.
/// </summary>
public sealed class SecAggRound
{
    private readonly SecAggRoundConfig _config;
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly HashSet<int> _gone = [];
    private readonly SecAggCoordinator? _coordinator;
    private readonly SecAggSettings _settings;
    private List<SecAggPublicKeys>? _roster;
    private IReadOnlyDictionary<int, List<SecAggEncryptedShare>>? _relayed;
    private List<int>? _survivors;
    private SecAggRoundResult? _result;
    private bool _ended;

    public SecAggRound(SecAggRoundConfig config, DateTimeOffset now)
    {
        _config = config;
        for (var i = 0; i < config.Members.Count; i++) _index[config.Members[i]] = i + 1;
        _settings = new SecAggSettings(config.Threshold, config.Length, config.Range, Math.Max(1, config.Members.Count));
        Deadline = now + config.PhaseTimeout;
        if (_index.Count != config.Members.Count) End(null, "secure aggregation: a member is listed twice");
        else if (_settings.Check(config.Members.Count) is { } problem) End(null, "secure aggregation: " + problem);
        else _coordinator = new SecAggCoordinator(_settings, [.. _index.Values]);
    }

    public SecAggRoundPhase Phase => _coordinator is null ? SecAggRoundPhase.Failed : (SecAggRoundPhase)(int)_coordinator.Phase;
    /// <summary>When the current phase closes unless every member it waits for answers first.</summary>
    public DateTimeOffset Deadline { get; private set; }
    public string? Failure { get; private set; }
    public int Members => _index.Count;

    /// <summary>Is this worker a member of the round?</summary>
    public bool IsMember(string workerId) => _index.ContainsKey(workerId);

    /// <summary>A member's message, taken as <paramref name="workerId"/>'s (the caller established who it is).</summary>
    public SecAggReply Receive(string workerId, SecAggRequest request, DateTimeOffset now)
    {
        if (!_index.TryGetValue(workerId, out var index))
            throw new RegattaException("forbidden", $"worker '{workerId}' is not a member of this round's secure aggregation");
        string? refusal = null;
        if (_coordinator is { } c && request.Step != SecAggStep.Poll && !_ended)
        {
            refusal = request.Step switch
            {
                SecAggStep.Advertise when request.CipherKey is { } ck && request.MaskKey is { } mk => c.Receive(new SecAggAdvertisement(index, ck, mk)),
                SecAggStep.Share => c.Receive(index, request.Shares.Select(s => new SecAggEncryptedShare(s.From, s.To, s.Sealed)).ToList()),
                SecAggStep.Input when request.Masked is { } masked => c.Receive(new SecAggMaskedInput(index, masked)),
                SecAggStep.Unmask => c.Receive(new SecAggUnmaskShares(index, request.SeedShares, request.KeyShares)),
                _ => $"a {request.Step} message without its content",
            };
            Advance(now);
        }
        else if (request.Step != SecAggStep.Poll) refusal = $"the round is {Phase}";
        return ReplyFor(index, refusal);
    }

    /// <summary>A member's job ended without it: no phase waits for it any more.</summary>
    public void Gone(string workerId, DateTimeOffset now)
    {
        if (_index.TryGetValue(workerId, out var index) && _gone.Add(index)) Advance(now);
    }

    /// <summary>Closes phases that are due; true when the phase changed.</summary>
    public bool Tick(DateTimeOffset now)
    {
        var before = Phase;
        Advance(now);
        return Phase != before;
    }

    /// <summary>The round's outcome once, when it has ended (the grain sends it to the run and keeps nothing of it).</summary>
    public SecAggRoundResult? TakeResult()
    {
        var result = _result;
        _result = null;
        return result;
    }

    /// <summary>Everything the coordinator holds now, as bytes (what a check for leaked updates reads).</summary>
    public IEnumerable<byte[]> Held() => _coordinator?.Held() ?? [];

    private void Advance(DateTimeOffset now)
    {
        while (!_ended && _coordinator is { } c)
        {
            var waiting = c.Pending.Where(m => !_gone.Contains(m)).Any();
            if (waiting && now < Deadline) return;
            switch (c.Phase)
            {
                case SecAggPhase.AdvertiseKeys:
                    _roster = c.CloseAdvertising()?.Select(a => new SecAggPublicKeys(a.Member, a.CipherKey, a.MaskKey)).ToList();
                    Deadline = now + _config.PhaseTimeout;
                    break;
                case SecAggPhase.ShareKeys:
                    _relayed = c.CloseSharing();
                    var input = now + _config.PhaseTimeout;
                    Deadline = _config.InputDeadline > input ? _config.InputDeadline : input;
                    break;
                case SecAggPhase.MaskedInput:
                    _relayed = null;
                    _survivors = c.CloseInput()?.ToList();
                    Deadline = now + _config.PhaseTimeout;
                    break;
                case SecAggPhase.Unmasking:
                    var sum = c.CloseUnmasking();
                    if (sum is not null)
                        End(sum, null);
                    break;
            }
            if (c.Phase == SecAggPhase.Failed) End(null, c.Failure ?? "secure aggregation failed");
        }
    }

    private void End(SecAggSum? sum, string? failure)
    {
        if (_ended) return;
        _ended = true;
        Failure = failure;
        var byIndex = _index.ToDictionary(p => p.Value, p => p.Key);
        var survivors = sum?.Survivors.Select(i => byIndex[i]).ToList() ?? [];
        _result = new SecAggRoundResult(_config.RunId, _config.Round, _config.Attempt, sum?.Sum, survivors,
            _config.Members.Except(survivors).ToList(), failure);
    }

    private SecAggReply ReplyFor(int index, string? refusal)
    {
        var phase = Phase;
        return new SecAggReply
        {
            Phase = phase,
            Index = index,
            Threshold = _settings.Threshold,
            Length = _settings.Length,
            Range = _settings.Range,
            MaxMembers = _settings.MaxMembers,
            Roster = phase is >= SecAggRoundPhase.ShareKeys and <= SecAggRoundPhase.Unmasking ? _roster : null,
            SharesForYou = phase == SecAggRoundPhase.MaskedInput && _relayed is { } relayed
                ? (relayed.TryGetValue(index, out var mine) ? mine.Select(s => new SecAggSealedShare(s.From, s.To, s.Sealed)).ToList() : [])
                : null,
            Survivors = phase == SecAggRoundPhase.Unmasking ? _survivors : null,
            Failure = Failure,
            Refusal = refusal,
        };
    }
}
