using System.Numerics.Tensors;

namespace Regatta.Grains.Aggregation;

/// <summary>
/// FedAdam's server state as plain arrays, so a grain can persist it as is:
/// first moment <see cref="M"/>, second moment <see cref="V"/>, and the number of steps taken.
/// </summary>
public sealed record FedAdamState(float[] M, float[] V, int Step)
{
    /// <summary>Zero moments, step 0, for a model of <paramref name="length"/> values.</summary>
    public static FedAdamState Initial(int length)
    {
        Guard.ModelLength(length, nameof(length));
        return new(new float[length], new float[length], 0);
    }
}

/// <summary>
/// FedAdam server optimiser (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Algorithm 2),
/// with the round's averaged delta Δ as pseudo-gradient:
/// <code>
/// m ← β₁·m + (1 − β₁)·Δ
/// v ← β₂·v + (1 − β₂)·Δ²
/// x ← x + η·m / (√v + τ)
/// </code>
/// As in the paper there is no bias correction; moments start at zero (the paper allows any v₋₁ ≥ τ²,
/// which for the usual τ is indistinguishable from zero).
/// </summary>
public sealed class FedAdam
{
    // Values per step of the blocked update; the scratch block lives on the stack and stays in L1.
    private const int Block = 1024;
    private readonly float[] _m;
    private readonly float[] _v;

    public FedAdam(int length) : this(FedAdamState.Initial(length)) { }

    /// <summary>Continues from persisted state. The arrays are used (and updated) in place, not copied.</summary>
    public FedAdam(FedAdamState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(state.M, "state.M");
        ArgumentNullException.ThrowIfNull(state.V, "state.V");
        Guard.ModelLength(state.M.Length, "state.M");
        if (state.V.Length != state.M.Length)
            throw new ArgumentException($"FedAdam state: M has {state.M.Length} values but V has {state.V.Length}", nameof(state));
        if (state.Step < 0)
            throw new ArgumentException($"FedAdam state: step must not be negative, got {state.Step}", nameof(state));
        _m = state.M;
        _v = state.V;
        Step = state.Step;
    }

    public int Length => _m.Length;

    public int Step { get; private set; }

    /// <summary>The current state. It shares the live arrays (no copy of two model-sized arrays); persist it before the next <see cref="Apply"/> or copy it.</summary>
    public FedAdamState State => new(_m, _v, Step);

    /// <summary>One server step: updates the moments and moves <paramref name="global"/> in place.</summary>
    /// <param name="global">Global model, flat, updated in place.</param>
    /// <param name="avgDelta">The round's weighted average delta (pseudo-gradient).</param>
    /// <param name="lr">Server learning rate η (&gt; 0).</param>
    /// <param name="beta1">β₁ in [0, 1).</param>
    /// <param name="beta2">β₂ in [0, 1).</param>
    /// <param name="eps">Adaptivity τ (&gt; 0).</param>
    public void Apply(Span<float> global, ReadOnlySpan<float> avgDelta, double lr, double beta1, double beta2, double eps)
    {
        Guard.Length(global.Length, Length, nameof(global));
        Guard.Length(avgDelta.Length, Length, nameof(avgDelta));
        if (!double.IsFinite(lr) || lr <= 0)
            throw new ArgumentOutOfRangeException(nameof(lr), lr, "server learning rate must be positive and finite");
        if (!(beta1 is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
        if (!(beta2 is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
        if (!double.IsFinite(eps) || eps <= 0)
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "epsilon (tau) must be positive and finite");
        Guard.Finite(avgDelta, "average delta", nameof(avgDelta));

        float a1 = (float)(1 - beta1), a2 = (float)(1 - beta2), eta = (float)lr, tau = (float)eps;
        Span<float> scratch = stackalloc float[Block];
        for (var i = 0; i < global.Length; i += Block)
        {
            var n = Math.Min(Block, global.Length - i);
            var d = avgDelta.Slice(i, n);
            var m = _m.AsSpan(i, n);
            var v = _v.AsSpan(i, n);
            var x = global.Slice(i, n);
            var t = scratch[..n];
            TensorPrimitives.Lerp(m, d, a1, m);        // m + (Δ − m)(1 − β₁) = β₁m + (1 − β₁)Δ
            TensorPrimitives.Multiply(d, d, t);        // Δ²
            TensorPrimitives.Lerp(v, t, a2, v);        // β₂v + (1 − β₂)Δ²
            TensorPrimitives.Sqrt(v, t);               // √v
            TensorPrimitives.Add(t, tau, t);           // √v + τ
            TensorPrimitives.Divide(m, t, t);          // m / (√v + τ)
            TensorPrimitives.MultiplyAdd(t, eta, x, x); // x + η·m / (√v + τ)
        }
        Step++;
    }
}
