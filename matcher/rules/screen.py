"""Screening a round: every eligible pair with its net rent, toeslag and distance.

``screen(round)`` takes the candidate chunks of ``matcher.rules.search`` and keeps the pairs
that pass every rule of ``matcher.rules.arrays`` (forbidden pairs excluded; an option needing a
contingent that does not exist is eligible for nobody). ``failure_counts`` and
``failure_figures`` say, per rule, how many options fail it for a youth (for the reason of a
youth without any eligible option).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.policy import AFF_OK
from matcher.problem import Round
from matcher.rules.arrays import FloatArray, IntArray, round_arrays
from matcher.rules.context import RULE_NAMES, TYPE_RULES
from matcher.rules.search import CHUNK_PAIRS, candidate_chunks

__all__ = ["Screening", "failure_counts", "failure_figures", "screen"]


@dataclass(frozen=True)
class Screening:
    """All eligible pairs of a round, sorted by (youth_idx, option_idx)."""

    youth_idx: NDArray[np.int32]
    option_idx: NDArray[np.int32]
    net_rent: FloatArray  # what the youth pays per month after huurtoeslag
    toeslag: FloatArray  # huurtoeslag per month (0 for rooms / minors)
    distance_m: FloatArray  # metres to the nearest anchor (NaN: no anchors)
    option_contingent: NDArray[np.int32]  # per option: contingent index, -1 none needed/none

    def __len__(self) -> int:
        return len(self.youth_idx)


def screen(round: Round) -> Screening:
    """All eligible pairs of ``round`` with net rent, toeslag and distance, vectorised.

    Forbidden pairs are excluded. Options needing a contingent that does not exist are eligible
    for nobody. Memory is bounded by processing candidates in chunks of ``CHUNK_PAIRS``.
    """
    ctx, arr = round_arrays(round)
    n_y, n_t = arr.n_youths, len(arr.t_min_age)
    option_contingent = np.where(arr.o_contingent >= 0, arr.o_contingent, -1).astype(np.int32)

    # Youth x type table of the type-level rules: small (youths x types).
    yy = np.repeat(np.arange(n_y, dtype=np.int64), n_t)
    tt = np.tile(np.arange(n_t, dtype=np.int64), n_y)
    ok = np.ones(len(yy), dtype=bool)
    for rule in TYPE_RULES:
        ok &= ~arr.type_fail(rule, yy, tt)
    ok_yt = ok.reshape(n_y, n_t)
    option_ok = arr.available & (arr.o_contingent != -2)

    parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]] = []
    for yi, oi in candidate_chunks(arr, ok_yt, option_ok):
        # Re-check the type-level and option-level rules (cheap) so the result never depends on
        # how candidates were pre-filtered.
        keep = ok_yt[yi, arr.otype[oi]] & option_ok[oi]
        yi, oi = yi[keep], oi[keep]
        d = arr.distances(yi, oi)
        md = arr.max_dist[yi]
        keep = np.isnan(md) | (d <= md)
        yi, oi, d = yi[keep], oi[keep], d[keep]
        code, net, toeslag = arr.affordability(ctx.policy, yi, oi)
        keep = code == AFF_OK
        yi, oi, d, net, toeslag = yi[keep], oi[keep], d[keep], net[keep], toeslag[keep]
        keep = ~arr.no_go_fail(yi, oi) & ~arr.forbidden_fail(yi, oi)
        parts.append((yi[keep], oi[keep], d[keep], net[keep], toeslag[keep]))

    if parts:
        yi = np.concatenate([p[0] for p in parts])
        oi = np.concatenate([p[1] for p in parts])
        order = np.argsort(yi * max(1, arr.n_options) + oi, kind="stable")
        return Screening(
            youth_idx=yi[order].astype(np.int32),
            option_idx=oi[order].astype(np.int32),
            net_rent=np.concatenate([p[3] for p in parts])[order],
            toeslag=np.concatenate([p[4] for p in parts])[order],
            distance_m=np.concatenate([p[2] for p in parts])[order],
            option_contingent=option_contingent,
        )
    empty_i = np.zeros(0, dtype=np.int32)
    empty_f = np.zeros(0, dtype=np.float64)
    return Screening(
        empty_i, empty_i.copy(), empty_f, empty_f.copy(), empty_f.copy(), option_contingent
    )


def failure_counts(round: Round, youth_code: str) -> dict[str, int]:
    """Per rule name, how many options fail it for this youth (an option failing two rules
    counts in both); key ``eligible``: the number of eligible options. Vectorised over all
    options of the round."""
    ctx, _arr = round_arrays(round)
    if youth_code not in ctx.youth_index:
        raise KeyError(f"onbekende jongere {youth_code!r}")
    return failure_figures(round, [youth_code])[youth_code]


def failure_figures(
    round: Round, codes: list[str], eligible: IntArray | None = None
) -> dict[str, dict[str, int]]:
    """``failure_counts`` for many youths (by code), computed for blocks of youths at once
    (about ``CHUNK_PAIRS`` pairs per block) rather than one youth at a time.

    ``eligible``: each youth's number of eligible options when the caller knows it (the
    screening does: 0 for a youth without an eligible pair); then no option needs every rule at
    once. With the type-level rules counted per housing type, a third less work on national
    rounds."""
    if not codes:
        return {}
    ctx, arr = round_arrays(round)
    ys = np.array([ctx.youth_index[c] for c in codes], dtype=np.int64)
    n_opt = arr.n_options
    counts = {r: np.zeros(len(ys), dtype=np.int64) for r in RULE_NAMES}
    known = eligible is not None
    eligible = np.zeros(len(ys), dtype=np.int64) if eligible is None else np.asarray(eligible)
    # Type-level rules depend on the option's type only: counted per type, times its options.
    of_type = np.bincount(arr.otype, minlength=arr.accept.shape[1])
    types = np.arange(len(of_type), dtype=np.int64)[None, :]
    step = max(1, CHUNK_PAIRS // max(1, n_opt))
    for s in range(0, len(ys), step):
        block = ys[s : s + step]
        rows = slice(s, s + len(block))
        for r in TYPE_RULES:
            counts[r][rows] = arr.type_fail(r, block[:, None], types) @ of_type
        yi = np.repeat(block, n_opt)
        oi = np.tile(np.arange(n_opt, dtype=np.int64), len(block))
        fails = arr.pair_fails(ctx.policy, yi, oi)
        for r, fail in fails.items():
            counts[r][rows] = fail.reshape(len(block), n_opt).sum(axis=1)
        if not known:  # an option is eligible when it fails no rule, type rules included
            ti = arr.otype[oi]
            any_fail = np.zeros(len(yi), dtype=bool)
            for fail in [*fails.values(), *(arr.type_fail(r, yi, ti) for r in TYPE_RULES)]:
                any_fail |= fail
            eligible[rows] = (~any_fail).reshape(len(block), n_opt).sum(axis=1)
    out: dict[str, dict[str, int]] = {}
    for i, code in enumerate(codes):
        figures = {r: int(counts[r][i]) for r in RULE_NAMES}
        figures["eligible"] = int(eligible[i])
        out[code] = figures
    return out
