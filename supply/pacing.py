"""Pacing annual contingents over the months of a year (issue 6).

A corporation's contingent for a gemeente is counted per year and used month by month. Used
greedily, every month takes whatever it can, so the contingent can be gone by spring and autumn's
care leavers find nothing; kept back, it lapses in December. Three ways to pace it:

* **budget**: a monthly budget per contingent that follows the expected demand: by the end of
  month m at most ``round(amount * W_m / W)`` may be used, with ``W_m`` the expected arrivals up
  to month m (from the projection; uniform by default). What a month leaves unused rolls over.
* **dual price** (after the dynamic Annie MOORE resettlement work, Ahani et al.): each month a
  price per contingent, the expected value of one more unit of it for the rest of the year, is
  estimated on sampled futures: the people waiting now plus arrivals for the remaining months
  drawn from past arrivals, matched to the places that will be free, with the contingent left.
  The price of contingent k is the drop in the optimal value of that future when k has one unit
  less (zero when k is not binding). This month's matching then uses value minus price for pairs
  that use a contingent: a contingent unit goes now only when this placement is worth more than
  what the unit is expected to bring later.
* **stochastic** (sample average approximation of the two-stage problem): one LP holds this
  month's placements, shared, and the rest of the year of every sampled future, each with its
  own capacities and contingents; what the LP places now is placed now. The futures have to
  agree on one decision, which prices contingents, places and waiting at once.

All are evaluated on a simulated year against the hindsight optimum (one matching of the whole
year with every arrival known: a placement can happen in any month the person and the place are
both there, up to the person's patience) and against greedy month-by-month use. All matchings
are the matcher's min-cost flow (``matcher.flow.solve_flow``) on a ``FlowInput``: the flow part
of the matcher without the side rules of shared houses (persons_min, conflicts, companions),
which is exact for single-person places and an upper bound otherwise. The value of a placement
is its matcher pair value (urgency first, then preferences); within a person's patience a later
placement is worth the same as an earlier one, which is the hindsight optimum's own measure.

Pure: NumPy, SciPy (the stochastic LP) and ``matcher.flow``; no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from matcher.flow import FlowInput, solve_flow
from matcher.problem import Contingent

Policy = Literal["greedy", "budget", "dual", "stochastic"]
IntArray = NDArray[np.int64]


def _gather(values: NDArray[np.float64], index: NDArray, fill: float) -> NDArray[np.float64]:
    """values[index] where index >= 0, else ``fill``."""
    out = np.full(index.shape, fill)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


@dataclass(frozen=True)
class YearProblem:
    """A year of arrivals on one flow network.

    ``flow`` holds every pair of the year (youths of this year and of the history pool).
    ``youth_month[y]``: arrival month 0..11 of a youth of this year, -1 for a history youth
    (only sampled into futures). ``option_month[o]``: month the place becomes free (planned, so
    known in advance). ``flow.contingent_left`` is each contingent's amount for the year.
    """

    flow: FlowInput
    youth_month: IntArray
    option_month: IntArray
    months: int = 12
    # Months a youth can wait after arriving (placed in month a .. a + patience, or never):
    # care ends, and a place months later is no place. None: until December, which makes
    # waiting free and "match everything in December" as good as hindsight.
    patience: int | None = None

    def __post_init__(self) -> None:
        if len(self.youth_month) != self.flow.n_youths:
            raise ValueError("youth_month: één maand per jongere")
        if len(self.option_month) != self.flow.n_options:
            raise ValueError("option_month: één maand per woning")
        if self.patience is not None and self.patience < 0:
            raise ValueError("patience: niet negatief")

    @property
    def last_month(self) -> IntArray:
        """Per youth: the last month it can be placed (-1 for a history youth)."""
        last = np.full(len(self.youth_month), self.months - 1, dtype=np.int64)
        if self.patience is not None:
            last = np.minimum(last, self.youth_month + self.patience)
        return np.where(self.youth_month >= 0, last, -1)

    @property
    def pair_contingent(self) -> NDArray[np.int32]:
        """Contingent used by each pair (-1: none), via the option's house node if it has one."""
        f = self.flow
        house = f.option_house[f.pair_option]
        via_house = _gather(np.asarray(f.house_contingent, np.float64), house, -1.0)
        return np.where(house >= 0, via_house, f.option_contingent[f.pair_option]).astype(np.int32)

    @property
    def this_year(self) -> NDArray[np.bool_]:
        return self.youth_month >= 0


@dataclass
class _State:
    placed: NDArray[np.bool_]  # per youth
    option_left: IntArray
    house_left: IntArray
    contingent_left: IntArray
    value: int = 0
    placements: int = 0


@dataclass(frozen=True)
class YearOutcome:
    policy: str
    value: int
    placements: int
    contingent_used_by_month: IntArray  # (months,) contingent units used per month
    contingent_unused: int


def _solve(
    problem: YearProblem,
    keep: NDArray[np.bool_],
    values: IntArray,
    state: _State,
    contingent_cap: IntArray,
) -> NDArray[np.bool_]:
    """Optimal flow over the pairs in ``keep`` (with ``values``); returns the used-pair mask."""
    f = problem.flow
    idx = np.nonzero(keep & (values > 0))[0]
    used = np.zeros(len(f.pair_youth), bool)
    if idx.size == 0:
        return used
    sub = replace(
        f,
        pair_youth=f.pair_youth[idx],
        pair_option=f.pair_option[idx],
        pair_value=values[idx],
        option_capacity=state.option_left,
        house_capacity=state.house_left,
        contingent_left=np.minimum(contingent_cap, state.contingent_left),
    )
    used[idx[solve_flow(sub).pair_used]] = True
    return used


def _apply(problem: YearProblem, used: NDArray[np.bool_], state: _State) -> int:
    """Book the placements of ``used``; returns the contingent units they took."""
    f = problem.flow
    pc = problem.pair_contingent
    idx = np.nonzero(used)[0]
    state.placed[f.pair_youth[idx]] = True
    np.subtract.at(state.option_left, f.pair_option[idx], 1)
    house = f.option_house[f.pair_option[idx]]
    np.subtract.at(state.house_left, house[house >= 0], 1)
    cont = pc[idx]
    np.subtract.at(state.contingent_left, cont[cont >= 0], 1)
    state.value += int(f.pair_value[idx].sum())
    state.placements += int(idx.size)
    return int((cont >= 0).sum())


def _open(problem: YearProblem, state: _State, month: int) -> NDArray[np.bool_]:
    """Pairs whose youth is here and unplaced and whose place is free by ``month``."""
    f = problem.flow
    ym = problem.youth_month[f.pair_youth]
    om = problem.option_month[f.pair_option]
    return (
        (ym >= 0)
        & (ym <= month)
        & (problem.last_month[f.pair_youth] >= month)
        & ~state.placed[f.pair_youth]
        & (om <= month)
        & (state.option_left[f.pair_option] > 0)
    )


def hindsight(problem: YearProblem) -> YearOutcome:
    """The whole year in one matching, every arrival known (the benchmark's upper bound)."""
    state = _new_state(problem)
    f = problem.flow
    # A place can go to a youth when it is free by the youth's last month.
    keep = problem.option_month[f.pair_option] <= problem.last_month[f.pair_youth]
    used = _solve(problem, keep, problem.flow.pair_value, state, state.contingent_left)
    taken = _apply(problem, used, state)
    by_month = np.zeros(problem.months, np.int64)
    by_month[-1] = taken
    return YearOutcome(
        "hindsight", state.value, state.placements, by_month, int(state.contingent_left.sum())
    )


def _new_state(problem: YearProblem) -> _State:
    f = problem.flow
    return _State(
        placed=np.zeros(f.n_youths, bool),
        option_left=np.asarray(f.option_capacity, np.int64).copy(),
        house_left=np.asarray(f.house_capacity, np.int64).copy(),
        contingent_left=np.asarray(f.contingent_left, np.int64).copy(),
    )


def budget_targets(amount: IntArray, weights: Sequence[float] | None, months: int) -> IntArray:
    """(months, K) cumulative use allowed by the end of each month: ``round(amount * W_m / W)``
    with ``W_m`` the running sum of ``weights`` (expected arrivals per month; default uniform).
    The last month allows the whole amount."""
    w = np.ones(months) if weights is None else np.asarray(weights, np.float64)
    if w.shape != (months,) or not np.isfinite(w).all() or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights: één niet-negatief gewicht per maand, niet allemaal nul")
    share = np.cumsum(w) / w.sum()
    return np.rint(share[:, None] * np.asarray(amount, np.float64)[None, :]).astype(np.int64)


@dataclass(frozen=True)
class Prices:
    """Dual prices of the capacities of one matching LP (value per unit)."""

    option: NDArray[np.float64]
    house: NDArray[np.float64]
    contingent: NDArray[np.float64]
    gemeente: NDArray[np.float64]

    def of_pairs(self, problem: YearProblem) -> NDArray[np.float64]:
        """The price a pair pays: its option, house node, contingent and gemeente."""
        f = problem.flow
        house = f.option_house[f.pair_option]
        pc = problem.pair_contingent
        return (
            self.option[f.pair_option]
            + _gather(self.house, house, 0.0)
            + _gather(self.contingent, pc, 0.0)
            + self.gemeente[f.option_gemeente[f.pair_option]]
        )


def lp_prices(flow: FlowInput, pair_contingent: NDArray[np.int32]) -> Prices:
    """Solve the matching as a linear programme (GLOP) and return the dual prices of the option,
    house, contingent and gemeente capacities.

    The constraint matrix of the flow is totally unimodular, so the LP optimum equals the flow
    optimum; its duals are the marginal values of one more unit of each capacity (one valid
    choice where the optimum is degenerate).
    """
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver("GLOP")
    n_o, n_h = flow.n_options, len(flow.house_capacity)
    n_k, n_g = len(flow.contingent_left), len(flow.gemeente_cap)
    scale = float(max(int(np.max(flow.pair_value, initial=1)), 1))  # keep the LP well scaled
    youth_row = {}
    option_row = [solver.Constraint(0.0, float(c)) for c in flow.option_capacity]
    house_row = [solver.Constraint(0.0, float(c)) for c in flow.house_capacity]
    cont_row = [solver.Constraint(0.0, float(c)) for c in flow.contingent_left]
    gem_row = [
        solver.Constraint(0.0, solver.infinity() if c < 0 else float(c)) for c in flow.gemeente_cap
    ]
    objective = solver.Objective()
    for p in range(len(flow.pair_youth)):
        x = solver.NumVar(0.0, 1.0, "")
        objective.SetCoefficient(x, float(flow.pair_value[p]) / scale)
        y = int(flow.pair_youth[p])
        if y not in youth_row:
            youth_row[y] = solver.Constraint(0.0, 1.0)
        youth_row[y].SetCoefficient(x, 1.0)
        o = int(flow.pair_option[p])
        option_row[o].SetCoefficient(x, 1.0)
        h = int(flow.option_house[o])
        if h >= 0:
            house_row[h].SetCoefficient(x, 1.0)
        k = int(pair_contingent[p])
        if k >= 0:
            cont_row[k].SetCoefficient(x, 1.0)
        gem_row[int(flow.option_gemeente[o])].SetCoefficient(x, 1.0)
    objective.SetMaximization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        raise RuntimeError("pacing: LP niet optimaal opgelost")

    def duals(rows: list, n: int) -> NDArray[np.float64]:
        out = np.zeros(n)
        for i, row in enumerate(rows):
            out[i] = max(row.dual_value(), 0.0) * scale
        return out

    return Prices(
        option=duals(option_row, n_o),
        house=duals(house_row, n_h),
        contingent=duals(cont_row, n_k),
        gemeente=duals(gem_row, n_g),
    )


def _waiting(problem: YearProblem, state: _State, month: int) -> IntArray:
    """Youths here in ``month``, not placed, and still within their patience."""
    return np.nonzero(
        (problem.youth_month >= 0)
        & (problem.youth_month <= month)
        & (problem.last_month >= month)
        & ~state.placed
    )[0]


@dataclass(frozen=True)
class Future:
    """One sampled rest of the year: ``flow`` over the people waiting now (youths
    ``0 .. n_waiting-1``) and drawn arrivals; ``pair[k]`` is the problem's pair behind pair k."""

    flow: FlowInput
    pair: IntArray
    waiting: IntArray  # the problem's youths waiting now, youths 0 .. n_waiting-1 of ``flow``

    @property
    def n_waiting(self) -> int:
        return len(self.waiting)


def sampled_futures(
    problem: YearProblem,
    state: _State,
    month: int,
    rng: np.random.Generator,
    samples: int,
    arrivals_per_month: float,
) -> list[Future]:
    """``samples`` futures: the people waiting now plus ``Poisson(arrivals_per_month)``
    arrivals in each remaining month drawn with replacement from the history pool, with every
    place free now or later and the contingent left. Everyone only gets places free by their
    last month (arrival plus patience). No futures in the last month or without a history
    pool."""
    f = problem.flow
    pool = np.nonzero(problem.youth_month < 0)[0]
    remaining = problem.months - 1 - month
    if remaining <= 0 or pool.size == 0 or samples < 1:
        return []
    order = np.argsort(f.pair_youth, kind="stable")
    starts = np.searchsorted(f.pair_youth[order], np.arange(f.n_youths + 1))
    waiting = _waiting(problem, state, month)
    option_ok = state.option_left > 0
    out: list[Future] = []
    for _ in range(samples):
        counts = rng.poisson(arrivals_per_month, size=remaining)
        drawn = rng.choice(pool, size=int(counts.sum()))
        youths = np.concatenate([waiting, drawn])
        # The last month each one can be placed: drawn arrivals come in month+1 .. December.
        arrival = np.repeat(np.arange(month + 1, problem.months), counts)
        wait_for = problem.months if problem.patience is None else problem.patience
        last = np.concatenate(
            [
                problem.last_month[waiting],
                np.minimum(arrival + wait_for, problem.months - 1),
            ]
        )
        pair_lists = [order[starts[y] : starts[y + 1]] for y in youths]
        sizes = np.array([len(p) for p in pair_lists], np.int64)
        if sizes.sum() == 0:
            continue
        pidx = np.concatenate(pair_lists)
        new_youth = np.repeat(np.arange(len(youths), dtype=np.int32), sizes)
        ok = option_ok[f.pair_option[pidx]]
        ok &= problem.option_month[f.pair_option[pidx]] <= last[new_youth]
        pidx, new_youth = pidx[ok], new_youth[ok]
        flow = replace(
            f,
            n_youths=len(youths),
            pair_youth=new_youth,
            pair_option=f.pair_option[pidx],
            pair_value=f.pair_value[pidx],
            option_capacity=state.option_left,
            house_capacity=state.house_left,
            contingent_left=state.contingent_left,
        )
        out.append(Future(flow, pidx.astype(np.int64), waiting))
    return out


def stochastic_values(
    problem: YearProblem,
    state: _State,
    month: int,
    rng: np.random.Generator,
    samples: int,
    arrivals_per_month: float,
) -> IntArray:
    """Pair values for this month from a two-stage stochastic programme on sampled futures.

    One LP (HiGHS through SciPy) holds the placements possible now (first stage, shared by every
    future) and, per sampled future, the placements of the rest of the year (second stage): the
    people waiting now may still be placed later (within their patience, also into places free
    now), drawn arrivals into places free by their last month. Every future keeps its own
    capacities (places, houses, contingents, gemeente caps), and the objective is the value
    placed now plus the mean value of the futures. A placement now goes ahead (with its full
    value) when the LP makes it at least half; a small bonus breaks ties toward now.
    Unlike re-solving each future on its own and voting (tried: 95-97.5 % of hindsight), the
    futures must agree on one decision now.
    """
    f = problem.flow
    values = np.asarray(f.pair_value, np.int64)
    futures = sampled_futures(problem, state, month, rng, samples, arrivals_per_month)
    first = np.nonzero(_open(problem, state, month))[0]
    if not futures or first.size == 0:
        return values
    waiting = futures[0].waiting
    n_waiting = len(waiting)
    pc = problem.pair_contingent
    n_o, n_h = f.n_options, len(f.house_capacity)
    n_k, n_g = len(f.contingent_left), len(f.gemeente_cap)
    scale = float(max(int(values.max(initial=1)), 1))
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    rhs: list[NDArray[np.float64]] = []
    cost: list[NDArray[np.float64]] = []
    gem_cap = np.where(np.asarray(f.gemeente_cap) < 0, 1e9, f.gemeente_cap).astype(np.float64)

    def entries(
        pair: NDArray[np.int64], youth: NDArray[np.int64], col0: int, row0: int, ny: int
    ) -> None:
        """Row entries of pairs (youth local index) in one future's block of rows."""
        o = f.pair_option[pair].astype(np.int64)
        h = f.option_house[o].astype(np.int64)
        k = pc[pair].astype(np.int64)
        g = f.option_gemeente[o].astype(np.int64)
        c = col0 + np.arange(len(pair), dtype=np.int64)
        r_o, r_h, r_k, r_g = (
            row0 + ny,
            row0 + ny + n_o,
            row0 + ny + n_o + n_h,
            row0 + ny + n_o + n_h + n_k,
        )
        parts = [(row0 + youth, c), (r_o + o, c), (r_h + h[h >= 0], c[h >= 0])]
        parts += [(r_k + k[k >= 0], c[k >= 0]), (r_g + g, c)]
        for r, cc in parts:
            rows.append(r)
            cols.append(cc)

    first_youth = np.searchsorted(waiting, f.pair_youth[first]).astype(np.int64)
    n_first = len(first)
    col = n_first
    row = 0
    # First stage: value now plus a tie bonus (a thousandth of a unit on the 0..1 scale).
    cost.append(values[first] / scale + 1e-3)
    for future in futures:
        ny = future.flow.n_youths
        entries(first, first_youth, 0, row, ny)
        later = future.pair
        youth = future.flow.pair_youth.astype(np.int64)
        # People waiting now in their last month have no later.
        ok = (youth >= n_waiting) | (
            problem.last_month[waiting[np.minimum(youth, n_waiting - 1)]] > month
        )
        later, youth = later[ok], youth[ok]
        entries(later, youth, col, row, ny)
        cost.append(values[later] / scale / len(futures))
        rhs.append(
            np.concatenate(
                [
                    np.ones(ny),
                    state.option_left.astype(np.float64),
                    state.house_left.astype(np.float64),
                    state.contingent_left.astype(np.float64),
                    gem_cap,
                ]
            )
        )
        col += len(later)
        row += ny + n_o + n_h + n_k + n_g
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    a = coo_matrix((np.ones(len(r)), (r, c)), shape=(row, col)).tocsr()
    res = linprog(
        -np.concatenate(cost),
        A_ub=a,
        b_ub=np.concatenate(rhs),
        bounds=(0.0, 1.0),
        method="highs-ds",
    )
    if res.status != 0:
        return values  # no LP answer: greedy this month
    share = np.zeros(len(values))
    share[first] = np.asarray(res.x[:n_first])
    # The LP chose; the flow then books it with the full values, so urgency still decides.
    return np.where(share >= 0.5, values, 0).astype(np.int64)


def dual_prices(
    problem: YearProblem,
    state: _State,
    month: int,
    rng: np.random.Generator,
    samples: int,
    arrivals_per_month: float,
    price_places: bool = True,
) -> Prices:
    """Expected marginal values of the capacities for the rest of the year.

    Each sample: the people waiting now plus ``Poisson(arrivals_per_month)`` arrivals in each
    remaining month, drawn with replacement from the history pool, matched (one LP) to every
    place free now or later with the contingent left; the LP duals are the prices. Averaged
    over ``samples``. ``price_places=False`` keeps only the contingent prices.
    """
    f = problem.flow
    zero = Prices(
        np.zeros(f.n_options),
        np.zeros(len(f.house_capacity)),
        np.zeros(len(f.contingent_left)),
        np.zeros(len(f.gemeente_cap)),
    )
    pc = problem.pair_contingent
    acc = [np.zeros_like(a) for a in (zero.option, zero.house, zero.contingent, zero.gemeente)]
    for future in sampled_futures(problem, state, month, rng, samples, arrivals_per_month):
        prices = lp_prices(future.flow, pc[future.pair])
        for a, b in zip(
            acc, (prices.option, prices.house, prices.contingent, prices.gemeente), strict=True
        ):
            a += b
    option, house, contingent, gemeente = (a / samples for a in acc)
    if not price_places:
        option, house, gemeente = zero.option, zero.house, zero.gemeente
    return Prices(option, house, contingent, gemeente)


def run_year(
    problem: YearProblem,
    policy: Policy,
    *,
    weights: Sequence[float] | None = None,
    samples: int = 4,
    seed: int = 0,
    price_places: bool = True,
    wait_for_planned: bool = True,
) -> YearOutcome:
    """Match month by month with ``policy``: ``greedy`` (use what you can), ``budget`` (monthly
    budget per contingent following ``weights``), ``dual`` (dual prices on sampled futures) or
    ``stochastic`` (a two-stage LP over sampled futures, ``stochastic_values``)."""
    if policy not in ("greedy", "budget", "dual", "stochastic"):
        raise ValueError(f"policy: onbekend beleid {policy!r}")
    state = _new_state(problem)
    amount = state.contingent_left.copy()
    targets = budget_targets(amount, weights, problem.months)
    rng = np.random.default_rng(seed)
    f = problem.flow
    used_by_month = np.zeros(problem.months, np.int64)
    arrivals_per_month = float(problem.this_year.sum()) / problem.months
    no_cap = np.full_like(amount, np.iinfo(np.int32).max)
    for month in range(problem.months):
        keep = _open(problem, state, month)
        values = np.asarray(f.pair_value, np.int64)
        cap = no_cap
        if policy == "budget":
            cap = np.maximum(targets[month] - (amount - state.contingent_left), 0)
        elif policy == "stochastic":
            values = stochastic_values(problem, state, month, rng, samples, arrivals_per_month)
        elif policy == "dual" and month < problem.months - 1:
            prices = dual_prices(
                problem, state, month, rng, samples, arrivals_per_month, price_places
            )
            net = values - prices.of_pairs(problem)
            if wait_for_planned:
                # Waiting has a value too: the best net value among places that become free
                # later (planned, so known now); place now only what beats it.
                om = problem.option_month[f.pair_option]
                later = (
                    (om > month)
                    & (om <= problem.last_month[f.pair_youth])
                    & ~state.placed[f.pair_youth]
                )
                wait = np.zeros(f.n_youths)
                np.maximum.at(wait, f.pair_youth[later], net[later])
                net = net - wait[f.pair_youth]
            # A placement worth exactly its price goes ahead (+1): the unit it leaves is only
            # worth that much in expectation, and whoever it would go to now may not wait.
            values = np.floor(net).astype(np.int64) + 1
        used = _solve(problem, keep, values, state, cap)
        used_by_month[month] = _apply(problem, used, state)
    return YearOutcome(
        policy, state.value, state.placements, used_by_month, int(state.contingent_left.sum())
    )


def arrival_weights_from_projection(inflow_p50: Sequence[float]) -> list[float]:
    """Monthly budget weights from a projection's expected arrivals (e.g. the P50 or mean of
    ``inflow`` at level ``total`` for the months of the year)."""
    return [max(float(x), 0.0) for x in inflow_p50]


def paced_contingents(
    contingents: Sequence[Contingent],
    month: int,
    weights: Mapping[str, Sequence[float]] | None = None,
) -> tuple[Contingent, ...]:
    """The contingents with this round's budget (``Contingent.month_budget``) for ``month``
    (1..12): by the end of the month at most ``round(amount * W_m / W)`` units, with ``W_m`` the
    expected arrivals in the contingent's gemeente up to that month (``weights[gemeente]``, twelve
    values from January, e.g. the projection's expected inflow; uniform when absent). What
    earlier months left unused rolls over; a contingent already used beyond its target gets 0.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month: 1 tot en met 12, niet {month}")
    out = []
    for c in contingents:
        w = (weights or {}).get(c.gemeente_code)
        if w is not None and len(w) == 12 and np.isfinite(w).all() and min(w) >= 0 and sum(w) == 0:
            w = None  # nobody expected all year: no reason to prefer a month
        try:
            target = budget_targets(np.array([c.amount]), w, 12)[month - 1, 0]
        except ValueError as exc:
            raise ValueError(f"gewichten voor {c.gemeente_code}: {exc}") from exc
        out.append(replace(c, month_budget=max(int(target) - c.used, 0)))
    return tuple(out)
