#!/usr/bin/env python3
"""Reference epsilons for RdpAccountantTests, computed independently of the series the accountant sums.

RDP of the sampled Gaussian mechanism at order a is log(A_a)/(a-1) with
    A_a = E_{z ~ N(0, s^2)} [ ((1-q) + q * exp((2z - 1) / (2 s^2)))^a ]
(Mironov, Talwar, Zhang 2019, Sec. 3.3, the definition their series expands). Here A_a is integrated numerically
(trapezoid rule in log space on a fine grid), for every order of Opacus' default list, so fractional orders are
checked too. Epsilon is the best over orders of Balle et al. 2020 (as Opacus) and of Mironov 2017 Prop. 3 (as
TF-Privacy's tables). Standard library only: python3 rdp_reference.py
"""
import math

ORDERS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))


def log_a(q, s, a):
    lo, hi = -14 * s, max(ORDERS) + 14 * s
    n = int((hi - lo) / (s / 60)) + 1
    dz = (hi - lo) / (n - 1)
    best, terms = -math.inf, []
    for k in range(n):
        z = lo + k * dz
        log_mu0 = -z * z / (2 * s * s) - math.log(s * math.sqrt(2 * math.pi))
        e = (2 * z - 1) / (2 * s * s)
        # log((1-q) + q e^e) without overflow
        log_mix = math.log(q) + e + math.log1p((1 - q) / q * math.exp(-e)) if e > 0 else math.log1p(-q + q * math.exp(e))
        t = log_mu0 + a * log_mix + (math.log(0.5) if k in (0, n - 1) else 0.0)
        terms.append(t)
        best = max(best, t)
    return best + math.log(sum(math.exp(t - best) for t in terms)) + math.log(dz)


def rdp(q, s, a):
    if q == 1:
        return a / (2 * s * s)
    return log_a(q, s, a) / (a - 1)


def eps(q, s, steps, delta):
    r = [rdp(q, s, a) * steps for a in ORDERS]
    opacus = min(ri - (math.log(delta) + math.log(a)) / (a - 1) + math.log((a - 1) / a) for ri, a in zip(r, ORDERS))
    classic = min(ri - math.log(delta) / (a - 1) for ri, a in zip(r, ORDERS))
    return opacus, classic


if __name__ == "__main__":
    for q, s, steps, delta in [(256 / 60000, 1.12, 14062, 1e-5), (256 / 60000, 0.6, 7031, 1e-5), (256 / 60000, 1.2, 2343, 1e-5),
                               (0.01, 1.0, 1000, 1e-5), (0.1, 2.0, 100, 1e-6),
                               (0.5, 3.0, 50, 1e-5), (1.0, 5.0, 10, 1e-5)]:
        o, c = eps(q, s, steps, delta)
        print(f"q={q:.6g} sigma={s} steps={steps} delta={delta}: opacus eps={o:.6f} classic eps={c:.6f}")
