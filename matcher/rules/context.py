"""The round context of the eligibility rules: lookups built once per round, and a small cache.

``RoundContext`` indexes a round for the scalar rules (types, youths, options, contingents by
key, forbidden pairs, ages on the move-in day); ``contingent_of`` names the contingent a
placement uses. ``round_context(round)`` keeps the contexts of the last two rounds it was asked
for (matched by identity), so explaining many pairs or unmatched youths of one round builds the
lookups, and its array form (``RoundContext.arrays``), once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from matcher.policy import age_on
from matcher.problem import HousingType, Option, Policy, Round, UnknownHousingType, Youth

if TYPE_CHECKING:
    from matcher.rules.arrays import RoundArrays

__all__ = [
    "RULE_NAMES",
    "TYPE_RULES",
    "ContingentKey",
    "RoundContext",
    "clear_cache",
    "contingent_of",
    "needs_contingent",
    "round_context",
]

RULE_NAMES: tuple[str, ...] = (
    "type_accepted",
    "support_level",
    "age",
    "minor_contract",
    "affordability",
    "no_go",
    "distance",
    "available",
    "contingent_exists",
    "forbidden_pair",
)
# The rules that depend on the option only through its housing type (decided per youth x type).
TYPE_RULES: tuple[str, ...] = RULE_NAMES[:4]

ContingentKey = tuple[str, str, int, str | None]


@dataclass
class RoundContext:
    """Round-level lookups for the scalar rules, built once by ``RoundContext.build``."""

    round: Round
    policy: Policy
    move_in: date
    types: dict[str, HousingType]
    youth_index: dict[str, int]
    option_index: dict[str, int]
    contingent_index: dict[ContingentKey, int]
    forbidden: frozenset[tuple[str, str]]
    _ages: dict[str, int] = field(default_factory=dict)
    # The array form of the round, built on first use by ``matcher.rules.arrays.round_arrays``.
    arrays: RoundArrays | None = field(default=None, repr=False)

    @classmethod
    def build(cls, round: Round) -> RoundContext:
        """Index the round; raises ``UnknownHousingType`` for an option of an unknown type."""
        types = {t.code: t for t in round.types}
        for o in round.options:
            if o.type_code not in types:
                raise UnknownHousingType(f"woning {o.code}: onbekend woningtype {o.type_code!r}")
        contingent_index: dict[ContingentKey, int] = {}
        for i, c in enumerate(round.contingents):
            # The first row wins on duplicate keys (imports refuse duplicates anyway).
            contingent_index.setdefault((c.corporation, c.gemeente_code, c.year, c.type_code), i)
        return cls(
            round=round,
            policy=round.policy,
            move_in=round.move_in,
            types=types,
            youth_index={y.code: i for i, y in enumerate(round.youths)},
            option_index={o.code: i for i, o in enumerate(round.options)},
            contingent_index=contingent_index,
            forbidden=frozenset(round.forbidden_pairs),
        )

    def age(self, youth: Youth) -> int:
        """Age in whole years on the move-in day (cached per youth)."""
        a = self._ages.get(youth.code)
        if a is None:
            a = self._ages[youth.code] = age_on(youth.birth_date, self.move_in)
        return a

    def type_of(self, option: Option) -> HousingType:
        try:
            return self.types[option.type_code]
        except KeyError:
            raise UnknownHousingType(
                f"woning {option.code}: onbekend woningtype {option.type_code!r}"
            ) from None


def needs_contingent(ctx: RoundContext, option: Option) -> bool:
    """A placement uses a contingent when a corporation owns the option and its type counts."""
    return option.corporation is not None and ctx.type_of(option).uses_contingent


def contingent_of(ctx_or_round: RoundContext | Round, option: Option) -> int | None:
    """Index into ``round.contingents`` of the contingent a placement in ``option`` uses.

    The typed contingent (corporation, gemeente, move-in year, type) if it exists, else the
    general one (type None); None when there is neither or when the option needs no contingent
    (provider-owned, or a type with ``uses_contingent`` False).
    """
    ctx = ctx_or_round if isinstance(ctx_or_round, RoundContext) else round_context(ctx_or_round)
    if not needs_contingent(ctx, option):
        return None
    assert option.corporation is not None
    year = ctx.move_in.year
    typed = ctx.contingent_index.get(
        (option.corporation, option.gemeente_code, year, option.type_code)
    )
    if typed is not None:
        return typed
    return ctx.contingent_index.get((option.corporation, option.gemeente_code, year, None))


# A tiny cache so repeated calls on the same round (failure counts for every unmatched youth,
# explanations in a page) do not rebuild the lookups. Matched by identity (``is``): rounds are
# immutable, and the cache holds the object so it cannot be replaced by another at that address.
_CACHE: list[tuple[Round, RoundContext]] = []
_CACHE_SIZE = 2


def round_context(round: Round) -> RoundContext:
    """The context of ``round``, from the cache when the same round object was seen lately."""
    for rnd, ctx in _CACHE:
        if rnd is round:
            return ctx
    ctx = RoundContext.build(round)
    _CACHE.insert(0, (round, ctx))
    del _CACHE[_CACHE_SIZE:]
    return ctx


def clear_cache() -> None:
    """Forget the cached contexts (tests that change module settings between calls)."""
    _CACHE.clear()
