"""The one Dutch glossary: every code stek shows a person, with its Dutch label.

Codes (rule names, reasons, statuses, roles, import kinds, ...) stay in the code and the
database; pages, CSV exports and maps show ``label(kind, code)``. The module imports nothing, so
every adapter (api, store, maps) and the core itself may use it. A test renders every page and
fails when one of these codes reaches a person without its label.
"""

from __future__ import annotations

from typing import Final

# Kinds of code, each a dict code -> Dutch label. Keep the codes in the order a person expects.
GLOSSARY: Final[dict[str, dict[str, str]]] = {
    # matcher.eligibility.RULE_NAMES
    "rule": {
        "type_accepted": "woningtype niet geaccepteerd",
        "support_level": "ondersteuningsbehoefte past niet",
        "age": "leeftijd",
        "minor_contract": "minderjarig zonder contract via zorgaanbieder",
        "affordability": "betaalbaarheid",
        "no_go": "no-go-gebied van de jongere",
        "distance": "buiten de zoekstraal",
        "available": "nog niet beschikbaar",
        "contingent_exists": "geen contingent",
        "forbidden_pair": "eerder afgewezen",
    },
    # matcher.result.REASON_CODES
    "unmatched_reason": {
        "no_eligible_option": "geen passende woning",
        "outcompeted": "passende woningen gingen naar anderen",
        "contingent_exhausted": "contingent op of gemeenteplafond bereikt",
        "house_composition": "past niet in de samenstelling van het huis",
        "not_selected": "niet gekozen (voorstel niet bewezen optimaal)",
    },
    # store.models.ROUND_STATUSES
    "round_status": {
        "created": "aangemaakt",
        "solving": "wordt doorgerekend",
        "draft": "concept",
        "published": "gepubliceerd",
        "final": "afgerond",
        "failed": "mislukt",
    },
    # store.models.MATCH_STATUSES
    "match_status": {
        "proposed": "voorgesteld",
        "accepted": "geaccepteerd",
        "rejected": "afgewezen",
        "confirmed": "bevestigd",
    },
    # store.models.REJECT_REASONS
    "reject_reason": {
        "woning_past_niet": "woning past niet bij de jongere",
        "jongere_weigert": "jongere wil deze woning niet",
        "zorg_niet_rond": "zorg of begeleiding niet rond",
        "samenstelling_huis": "past niet in de samenstelling van het huis",
        "anders": "andere reden (met toelichting)",
    },
    # matcher.result.Status (the solver's status of a proposal)
    "solver_status": {
        "optimal": "bewezen optimaal",
        "feasible": "geldig, niet bewezen optimaal",
        "infeasible": "geen geldige oplossing",
    },
    # store.models.ROLES
    "role": {
        "admin": "beheerder",
        "gemeente": "gemeente",
        "corporatie": "corporatie",
        "regisseur": "regisseur",
        "planner": "planner",
        "privacy": "functionaris gegevensbescherming",
    },
    # store.models.ORG_KINDS
    "org_kind": {
        "gemeente": "gemeente",
        "corporatie": "woningcorporatie",
        "zorgaanbieder": "zorgaanbieder",
        "regio": "regio",
    },
    # store.models.YOUTH_STATUSES
    "youth_status": {
        "waiting": "wachtend",
        "placed": "geplaatst",
        "inactive": "uitgeschreven",
    },
    # store.models.OPTION_STATUSES
    "option_status": {
        "available": "beschikbaar",
        "placed": "bewoond",
        "withdrawn": "ingetrokken",
    },
    # store.models.CONTINGENT_CHANGE_STATUSES (a proposed contingent agreement)
    "contingent_change_status": {
        "proposed": "wacht op de andere partij",
        "accepted": "aanvaard",
        "rejected": "afgewezen",
        "withdrawn": "ingetrokken",
    },
    # store.models.AREA_LEVELS
    "area_level": {"gemeente": "gemeente", "wijk": "wijk", "buurt": "buurt"},
    # import and export kinds (api/routers/imports.py, exports.py, stek import)
    "import_kind": {
        "areas": "gebieden",
        "organisations": "organisaties",
        "users": "gebruikers",
        "types": "woonvormen (menukaart)",
        "options": "woonplekken",
        "youths": "jongeren",
        "contingents": "contingenten",
    },
    # supply outputs (api/routers/supply.py Output)
    "supply_output": {
        "shortfall": "tekort (wachtend + geblokkeerd)",
        "waiting": "wachtend",
        "occupancy": "bezet",
        "placements": "plaatsingen per maand",
        "move_outs": "uitstroom per maand",
        "inflow": "instroom per maand",
        "contingent_used": "contingent gebruikt",
        "contingent_left": "contingent over",
    },
    # supply levels (api/routers/supply.py Level)
    "supply_level": {
        "total": "hele regio",
        "gemeente": "gemeente",
        "type": "woonvorm",
        "corporation": "corporatie",
        "gemeente_type": "gemeente × woonvorm",
        "gemeente_corporation": "gemeente × corporatie",
        "group": "groep",
    },
    # built-in supply scenarios; stored scenarios keep the name their author gave them
    "scenario": {"base": "basis (huidige gegevens)"},
    # api/services/rounds.PACINGS
    "pacing": {
        "none": "hele restant van het jaar beschikbaar",
        "budget": "maandbudget (jaar verdeeld naar verwachte instroom)",
    },
    # store.models.YouthRelation.kind
    "relation_kind": {
        "companion": "samen aangemeld met",
        "conflict": "niet in één huis met",
    },
    # store.retention.KINDS (the privacy officer's retention report)
    "retention_kind": {
        "round_snapshots": "persoonsgegevens in momentopnamen van afgeronde rondes",
        "youths_left": "jongeren die uitgestroomd zijn (gepseudonimiseerd)",
        "login_attempts": "inlogpogingen",
        "sessions": "verlopen sessies, API-tokens en half voltooide inlogs",
        "audit_entries": "regels in het auditlog",
    },
    # audit_log.entity (what an audit entry is about)
    "audit_entity": {
        "youth": "jongere",
        "round": "ronde",
        "proposal": "voorstel",
        "match": "match",
        "option": "woonplek",
        "user": "gebruiker",
        "organisation": "organisatie",
        "contingent_change": "contingentafspraak",
        "housing_type": "woonvorm",
        "policy": "huurtoeslaggrenzen",
        "export": "export",
        "audit": "auditlog",
        "audit_log": "auditlog",
        "retention": "bewaartermijnen",
        "database": "database",
    },
    # audit_log.action (what happened)
    "audit_action": {
        "youth.read": "jongere bekeken",
        "youth.list": "lijst jongeren bekeken",
        "youth.create": "jongere aangemaakt",
        "youth.update": "jongere gewijzigd",
        "youth.status": "status jongere gewijzigd",
        "youth.suggestions": "suggesties voor jongere bekeken",
        "youth.pair_explanation": "uitleg match van jongere bekeken",
        "subject.export": "inzage-export van jongere gemaakt",
        "round.create": "ronde aangemaakt",
        "round.replace": "concept-ronde vervangen",
        "round.solve": "ronde doorgerekend (gestart)",
        "round.solved": "ronde doorgerekend",
        "round.crashed": "doorrekenen mislukt",
        "round.publish": "ronde gepubliceerd",
        "round.resolve": "ronde opnieuw doorgerekend",
        "round.finalise": "ronde afgerond",
        "round.release": "gedeeld huis opnieuw beslist",
        "round.unfix": "koppeling opnieuw beslist",
        "round.placements": "plaatsingen vastgelegd",
        "round.explanations": "uitleg van de ronde bekeken",
        "round.fairness": "eerlijkheidsrapport bekeken",
        "round.pair_explanation": "uitleg van een match bekeken",
        "proposal.create": "voorstel gemaakt",
        "match.accept": "match geaccepteerd",
        "match.reject": "match afgewezen",
        "match.confirm": "match bevestigd",
        "match.undo": "besluit over match teruggedraaid",
        "option.create": "woonplek aangemaakt",
        "option.status": "status woonplek gewijzigd",
        "contingent.propose": "contingent voorgesteld",
        "contingent.accept": "contingent geaccepteerd",
        "contingent.reject": "contingent afgewezen",
        "contingent.withdraw": "contingentvoorstel ingetrokken",
        "housing_type.create": "woonvorm aangemaakt",
        "housing_type.update": "woonvorm gewijzigd",
        "policy.create": "huurtoeslaggrenzen toegevoegd",
        "policy.update": "huurtoeslaggrenzen gewijzigd",
        "user.create": "gebruiker aangemaakt",
        "user.update": "gebruiker gewijzigd",
        "user.password_link": "wachtwoordlink gemaakt",
        "user.password_set": "wachtwoord ingesteld",
        "organisation.create": "organisatie aangemaakt",
        "organisation.update": "organisatie gewijzigd",
        "auth.totp_enrolled": "tweestapsverificatie ingesteld",
        "auth.totp_refused": "inlogcode geweigerd",
        "auth.recovery_code_used": "herstelcode gebruikt",
        "auth.totp_reset": "tweestapsverificatie teruggezet",
        "audit.export": "auditlog geëxporteerd",
        "audit.purge": "oude auditregels verwijderd",
        "retention.run": "bewaartermijnen toegepast",
        "backup.restore": "back-up teruggezet",
        "import.refused": "import geweigerd",
        "export.round.csv": "ronde geëxporteerd (CSV)",
        "export.round.xlsx": "ronde geëxporteerd (Excel)",
    },
}

# Imports and exports are audited per kind ("import.youths", "export.contingents").
for _kind, _name in GLOSSARY["import_kind"].items():
    GLOSSARY["audit_action"][f"import.{_kind}"] = f"{_name} geïmporteerd"
    GLOSSARY["audit_action"][f"export.{_kind}"] = f"{_name} geëxporteerd"


def label(kind: str, code: str | None) -> str:
    """The Dutch label of ``code``; an unknown code is shown as it is, marked, never hidden.

    ``None`` is a dash. Raises ``KeyError`` for an unknown kind (a programming error).
    """
    if code is None:
        return "–"
    return GLOSSARY[kind].get(code, f"{code} (onbekende code)")


def labels(kind: str) -> dict[str, str]:
    """All codes of ``kind`` with their labels, in display order (for select lists)."""
    return dict(GLOSSARY[kind])
