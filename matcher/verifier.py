"""The independent verifier: re-checks a proposed assignment against the raw round.

It shares nothing with the solver and nothing with ``matcher.rules.screen``: pairs are
checked with the scalar rule functions, everything else is counted here from the ``Round``
itself. An empty list means the assignment is valid.

House rules (a house is ``Option.house_id``; when one house mixes types the strictest type
value counts: the largest persons_min, the smallest persons_max and max_age_gap):

* placements in a house <= persons_max and, when it has any placement, >= persons_min;
* no two housemates where one lists the other in ``conflicts``;
* the age gap (whole years on the move-in day) between housemates <= max_age_gap when set;
* companions: the connected groups of the companion relation (codes of youths outside the
  round are ignored) are placed all in one house, or not at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from matcher.problem import Round
from matcher.rules import RoundContext, contingent_of, pair_reasons

VIOLATION_KINDS: tuple[str, ...] = (
    "unknown_youth",
    "unknown_option",
    "youth_twice",
    "ineligible",
    "forbidden_pair",
    "capacity",
    "contingent",
    "gemeente_cap",
    "persons_max",
    "persons_min",
    "conflict",
    "age_gap",
    "companions_split",
    "fixed_missing",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule in an assignment; ``message`` is Dutch, for people.

    ``option`` is the option code for pair and capacity violations and the house id
    (``Option.house_id``) for house-composition violations; None for round-wide caps.
    """

    kind: str  # one of VIOLATION_KINDS
    message: str
    youth: str | None
    option: str | None


def companion_groups(round: Round) -> list[tuple[str, ...]]:
    """Groups (>= 2 youths) of the symmetric companion relation, as sorted youth codes.

    Its own union-find on purpose: the solver's groups (``matcher.groups``, through SciPy's
    connected components) are what this module checks, so it does not share their code.
    """
    index = {y.code: i for i, y in enumerate(round.youths)}
    parent = list(range(len(round.youths)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, y in enumerate(round.youths):
        for c in y.companions:
            k = index.get(c)
            if k is not None:
                parent[find(i)] = find(k)
    groups: dict[int, list[str]] = defaultdict(list)
    for i, y in enumerate(round.youths):
        groups[find(i)].append(y.code)
    return sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1)


def _pairs(assignment: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    if isinstance(assignment, Mapping):
        return list(assignment.items())
    return [(y, o) for y, o in assignment]


def verify(
    round: Round, assignment: Mapping[str, str] | Iterable[tuple[str, str]]
) -> list[Violation]:
    """Every rule the assignment (youth code -> option code) breaks; empty list: valid.

    ``assignment`` may also be a sequence of (youth, option) pairs, so a youth placed twice can
    be reported.
    """
    ctx = RoundContext.build(round)
    youths = {y.code: y for y in round.youths}
    options = {o.code: o for o in round.options}
    out: list[Violation] = []

    pairs = _pairs(assignment)
    placed: dict[str, str] = {}
    for y, o in pairs:
        if y not in youths:
            out.append(Violation("unknown_youth", f"Onbekende jongere {y}.", y, o))
            continue
        if o not in options:
            out.append(Violation("unknown_option", f"Onbekende woning {o}.", y, o))
            continue
        if y in placed:
            out.append(
                Violation(
                    "youth_twice",
                    f"Jongere {y} is meer dan eens geplaatst ({placed[y]} en {o}).",
                    y,
                    o,
                )
            )
            continue
        placed[y] = o

    # Every pair eligible (scalar rules); forbidden pairs reported as their own kind.
    for y, o in placed.items():
        reasons = pair_reasons(ctx, youths[y], options[o])
        for r in reasons:
            if r.rule == "forbidden_pair":
                out.append(Violation("forbidden_pair", r.message, y, o))
        other = [r for r in reasons if r.rule != "forbidden_pair"]
        if other:
            why = " ".join(r.message for r in other)
            out.append(Violation("ineligible", f"{y} past niet in {o}: {why}", y, o))

    # Capacity per option.
    per_option = Counter(placed.values())
    for o, n in sorted(per_option.items()):
        if n > options[o].capacity:
            out.append(
                Violation(
                    "capacity",
                    f"Woning {o} heeft {options[o].capacity} plaats(en) maar krijgt {n} jongeren.",
                    None,
                    o,
                )
            )

    # Contingents: units used per contingent within what is left.
    per_contingent: Counter[int] = Counter()
    for o, n in per_option.items():
        k = contingent_of(ctx, options[o])
        if k is not None:
            per_contingent[k] += n
    for k, n in sorted(per_contingent.items()):
        c = round.contingents[k]
        if n > c.left:
            typ = f", type {c.type_code}" if c.type_code else ""
            out.append(
                Violation(
                    "contingent",
                    f"Contingent {c.corporation}/{c.gemeente_code}/{c.year}{typ}: {n} plaatsingen, "
                    f"nog {c.left} over.",
                    None,
                    None,
                )
            )

    # Gemeente caps across corporations (the smallest cap counts when a gemeente has several).
    caps: dict[str, int] = {}
    for gm, cap in round.gemeente_caps:
        caps[gm] = min(cap, caps.get(gm, cap))
    per_gemeente: Counter[str] = Counter()
    for o, n in per_option.items():
        per_gemeente[options[o].gemeente_code] += n
    for gm, cap in sorted(caps.items()):
        if per_gemeente[gm] > cap:
            out.append(
                Violation(
                    "gemeente_cap",
                    f"Gemeente {gm}: {per_gemeente[gm]} plaatsingen, maximaal {cap}.",
                    None,
                    None,
                )
            )

    # House composition.
    house_types: dict[str, set[str]] = defaultdict(set)
    for opt in round.options:
        house_types[opt.house_id].add(opt.type_code)
    residents: dict[str, list[str]] = defaultdict(list)
    for y, o in placed.items():
        residents[options[o].house_id].append(y)
    for house, members in sorted(residents.items()):
        members.sort()
        types = [ctx.types[t] for t in sorted(house_types[house])]
        pmin = max(t.persons_min for t in types)
        pmax = min(t.persons_max for t in types)
        gaps = [t.max_age_gap for t in types if t.max_age_gap is not None]
        n = len(members)
        if n > pmax:
            out.append(
                Violation(
                    "persons_max",
                    f"Huis {house}: {n} bewoners, maximaal {pmax}.",
                    None,
                    house,
                )
            )
        if 0 < n < pmin:
            out.append(
                Violation(
                    "persons_min",
                    f"Huis {house}: {n} bewoner(s), minstens {pmin} nodig.",
                    None,
                    house,
                )
            )
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if b in youths[a].conflicts or a in youths[b].conflicts:
                    out.append(
                        Violation(
                            "conflict",
                            f"{a} en {b} mogen niet samen wonen maar zitten allebei in huis "
                            f"{house}.",
                            a,
                            placed[a],
                        )
                    )
        if gaps and n > 1:
            ages = [ctx.age(youths[y]) for y in members]
            gap = max(ages) - min(ages)
            if gap > min(gaps):
                out.append(
                    Violation(
                        "age_gap",
                        f"Huis {house}: leeftijdsverschil {gap} jaar, maximaal {min(gaps)}.",
                        None,
                        house,
                    )
                )

    # Companions: all in one house, or none placed.
    for group in companion_groups(round):
        houses = {options[placed[y]].house_id for y in group if y in placed}
        n_placed = sum(1 for y in group if y in placed)
        if n_placed and (n_placed < len(group) or len(houses) > 1):
            out.append(
                Violation(
                    "companions_split",
                    f"Samen aangemelde jongeren {', '.join(group)} zijn niet allemaal in hetzelfde "
                    f"huis geplaatst.",
                    group[0],
                    None,
                )
            )

    # Fixed pairs present.
    for y, o in round.fixed_pairs:
        if placed.get(y) != o:
            out.append(
                Violation(
                    "fixed_missing",
                    f"Vaste koppeling {y} - {o} ontbreekt in het voorstel.",
                    y,
                    o,
                )
            )
    return out
