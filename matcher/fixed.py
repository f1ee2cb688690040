"""Fixed pairs (accepted in an earlier review) that cannot hold on their own.

``check_fixed_pairs`` raises ``ConflictingFixedPairs`` (naming the pairs, with a Dutch message)
before any solving when fixed pairs conflict by themselves: one youth fixed twice, a fixed pair
also rejected or not eligible, more fixed pairs than an option's places, a contingent, a
gemeente cap or a house's persons_max allow, a conflict or too large an age gap between fixed
housemates, or companions fixed in different houses. Conflicts that need the other youths
(persons_min, say) are proven by CP-SAT (``matcher.cpsat``), which names them too.
"""

from __future__ import annotations

from collections.abc import Callable

from matcher.instance import NO_LIMIT, Instance
from matcher.problem import ConflictingFixedPairs

__all__ = ["ConflictingFixedPairs", "check_fixed_pairs"]


def check_fixed_pairs(inst: Instance) -> None:
    """Raise ``ConflictingFixedPairs`` for fixed pairs that conflict on their own."""
    codes = [(inst.youth_codes[y], inst.option_codes[o]) for y, o in inst.fixed]
    by_youth: dict[int, list[int]] = {}
    for k, (y, _o) in enumerate(inst.fixed):
        by_youth.setdefault(y, []).append(k)
    twice = [codes[k] for ks in by_youth.values() if len(ks) > 1 for k in ks]
    if twice:
        raise ConflictingFixedPairs("jongere meer dan eens vast gekoppeld", twice)
    forbidden = set(inst.round.forbidden_pairs)
    bad = [c for c in codes if c in forbidden]
    if bad:
        raise ConflictingFixedPairs("vaste koppeling staat ook als afgewezen", bad)
    inel = [codes[k] for k, p in enumerate(inst.fixed_pair_idx) if p < 0]
    if inel:
        raise ConflictingFixedPairs("vaste koppeling is niet toegestaan (niet geschikt)", inel)

    def over(key: Callable[[int, int], int], limit: Callable[[int], int], what: str) -> None:
        groups: dict[int, list[int]] = {}
        for k, (y, o) in enumerate(inst.fixed):
            g = key(y, o)
            if g >= 0:
                groups.setdefault(g, []).append(k)
        for g, ks in sorted(groups.items()):
            lim = limit(g)
            if lim != NO_LIMIT and len(ks) > lim:
                raise ConflictingFixedPairs(what, [codes[k] for k in ks])

    over(
        lambda y, o: o, lambda o: int(inst.option_capacity[o]), "vaste koppelingen boven capaciteit"
    )
    over(
        lambda y, o: int(inst.option_contingent[o]),
        lambda c: int(inst.contingent_left[c]),
        "vaste koppelingen boven het contingent",
    )
    over(
        lambda y, o: int(inst.option_gemeente[o]),
        lambda g: int(inst.gemeente_cap[g]),
        "vaste koppelingen boven het gemeenteplafond",
    )
    over(
        lambda y, o: int(inst.option_house[o]),
        lambda h: int(inst.house_pmax[h]),
        "vaste koppelingen boven het maximum aantal personen per huis",
    )
    house_of = {y: int(inst.option_house[o]) for y, o in inst.fixed}
    code_of = dict(zip([y for y, _ in inst.fixed], codes, strict=True))
    for a, b in inst.conflicts:
        if a in house_of and house_of.get(b) == house_of[a]:
            raise ConflictingFixedPairs(
                "vast gekoppelde jongeren met een conflict in hetzelfde huis",
                [code_of[a], code_of[b]],
            )
    members: dict[int, list[int]] = {}
    for y, h in house_of.items():
        members.setdefault(h, []).append(y)
    for h, ys in members.items():
        g = int(inst.house_gap[h])
        ages = inst.youth_age[ys]
        if g != NO_LIMIT and len(ys) > 1 and int(ages.max() - ages.min()) > g:
            raise ConflictingFixedPairs(
                "leeftijdsverschil te groot tussen vast gekoppelde huisgenoten",
                [code_of[y] for y in ys],
            )
    for group in inst.companion_groups:
        hs = {house_of[y] for y in group if y in house_of}
        if len(hs) > 1:
            raise ConflictingFixedPairs(
                "samen aangemelde jongeren vast gekoppeld in verschillende huizen",
                [code_of[y] for y in group if y in code_of],
            )
