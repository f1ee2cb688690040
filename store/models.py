"""SQLAlchemy 2 models: the persistent form of stek's data.

Portable between SQLite (embedded default) and PostgreSQL (production). Geometry is stored as
WKB bytes in RD New (EPSG:28992) with a bounding box beside it, so both databases hold it without
a spatial extension; spatial work happens in shapely after loading.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORG_KINDS = ("gemeente", "corporatie", "zorgaanbieder", "regio")
ROLES = ("admin", "gemeente", "corporatie", "regisseur", "planner", "privacy")
AREA_LEVELS = ("gemeente", "wijk", "buurt")
OPTION_STATUSES = ("available", "placed", "withdrawn")
YOUTH_STATUSES = ("waiting", "placed", "inactive")
ROUND_STATUSES = ("created", "solving", "draft", "published", "final", "failed")
MATCH_STATUSES = ("proposed", "accepted", "rejected", "confirmed")
REJECT_REASONS = (
    "woning_past_niet",
    "jongere_weigert",
    "zorg_niet_rond",
    "samenstelling_huis",
    "anders",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", ORG_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    gemeente_code: Mapped[str | None] = mapped_column(String(6))  # for kind == gemeente
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    # a deactivated organisation's users cannot sign in (api.services.users)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        UniqueConstraint("sso_issuer", "sso_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    # TOTP second factor (api/totp.py): the base32 secret once enrolment is confirmed, and the
    # last time step a code was accepted for (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Single sign-on (api/sso.py): the provider's account this account is linked to at its
    # first sign-on; from then on only that account (issuer and subject) signs in as this one.
    sso_issuer: Mapped[str | None] = mapped_column(String(300))
    sso_subject: Mapped[str | None] = mapped_column(String(255))

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class Area(Base):
    """A CBS gemeente, wijk or buurt with its geometry (WKB, RD New)."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_in("level", AREA_LEVELS), name="level"),
        CheckConstraint("minx <= maxx AND miny <= maxy", name="bbox"),
        Index("ix_areas_level", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    gemeente_code: Mapped[str] = mapped_column(String(6))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    geometry: Mapped[bytes] = mapped_column(LargeBinary)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)


class HousingType(Base):
    """A row of the menukaart (see matcher.problem.HousingType)."""

    __tablename__ = "housing_types"
    __table_args__ = (
        CheckConstraint("min_age >= 0 AND min_age <= max_age", name="ages"),
        CheckConstraint("persons_min >= 1 AND persons_min <= persons_max", name="persons"),
        CheckConstraint(
            "support_min >= 0 AND support_min <= support_max AND support_max <= 3", name="support"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int] = mapped_column(Integer)
    zelfstandig: Mapped[bool] = mapped_column(Boolean)
    provider_contract: Mapped[bool] = mapped_column(Boolean)
    persons_min: Mapped[int] = mapped_column(Integer)
    persons_max: Mapped[int] = mapped_column(Integer)
    support_min: Mapped[int] = mapped_column(Integer)
    support_max: Mapped[int] = mapped_column(Integer)
    stay_min_months: Mapped[int | None] = mapped_column(Integer)
    stay_max_months: Mapped[int | None] = mapped_column(Integer)
    uses_contingent: Mapped[bool] = mapped_column(Boolean, default=True)
    max_age_gap: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")


class HousingOption(Base):
    __tablename__ = "housing_options"
    __table_args__ = (
        CheckConstraint("kale_huur >= 0", name="kale_huur"),
        CheckConstraint("servicekosten >= 0", name="servicekosten"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint(_in("status", OPTION_STATUSES), name="status"),
        Index("ix_housing_options_gemeente", "gemeente_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("housing_types.id"))
    corporation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    gemeente_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    wijk_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    buurt_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    kale_huur: Mapped[float] = mapped_column(Float)
    servicekosten: Mapped[float] = mapped_column(Float, default=0.0)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    shared_house_id: Mapped[str | None] = mapped_column(String(40))
    available_from: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="available")
    address: Mapped[str | None] = mapped_column(String(200))  # migration 0010
    accessibility_notes: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    type: Mapped[HousingType] = relationship()
    corporation: Mapped[Organisation | None] = relationship()


class Youth(Base):
    __tablename__ = "youths"
    __table_args__ = (
        CheckConstraint("income >= 0", name="income"),
        CheckConstraint("support_need >= 0 AND support_need <= 3", name="support_need"),
        CheckConstraint("urgency >= 1 AND urgency <= 5", name="urgency"),
        CheckConstraint("max_rent IS NULL OR max_rent >= 0", name="max_rent"),
        CheckConstraint("household_size >= 1", name="household_size"),
        CheckConstraint("max_distance_m IS NULL OR max_distance_m > 0", name="max_distance_m"),
        CheckConstraint(_in("status", YOUTH_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    gemeente_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    income: Mapped[float] = mapped_column(Float)
    support_need: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[int] = mapped_column(Integer, default=1)
    care_end_date: Mapped[date | None] = mapped_column(Date)
    waiting_since: Mapped[date | None] = mapped_column(Date)
    max_rent: Mapped[float | None] = mapped_column(Float)
    household_size: Mapped[int] = mapped_column(Integer, default=1)
    max_distance_m: Mapped[float | None] = mapped_column(Float)
    support_provider: Mapped[str | None] = mapped_column(String(200))
    regisseur_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    placed_on: Mapped[date | None] = mapped_column(Date)  # move-in date of a final placement
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    accepted_types: Mapped[list[YouthAcceptedType]] = relationship(
        order_by="YouthAcceptedType.rank", cascade="all, delete-orphan"
    )
    preferred_areas: Mapped[list[YouthPreferredArea]] = relationship(
        order_by="YouthPreferredArea.rank", cascade="all, delete-orphan"
    )
    anchors: Mapped[list[YouthAnchor]] = relationship(cascade="all, delete-orphan")
    no_go_areas: Mapped[list[YouthNoGoArea]] = relationship(cascade="all, delete-orphan")
    relations: Mapped[list[YouthRelation]] = relationship(
        foreign_keys="YouthRelation.youth_id", cascade="all, delete-orphan"
    )
    regisseur: Mapped[User | None] = relationship()


class YouthAcceptedType(Base):
    __tablename__ = "youth_accepted_types"
    __table_args__ = (UniqueConstraint("youth_id", "type_id"),)

    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("housing_types.id"))

    type: Mapped[HousingType] = relationship()


class YouthPreferredArea(Base):
    __tablename__ = "youth_preferred_areas"
    __table_args__ = (UniqueConstraint("youth_id", "area_code"),)

    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))


class YouthAnchor(Base):
    __tablename__ = "youth_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)


class YouthNoGoArea(Base):
    """A no-go area: a CBS code or a polygon (WKB, RD New). Highly sensitive."""

    __tablename__ = "youth_no_go_areas"
    __table_args__ = (
        CheckConstraint("(area_code IS NULL) <> (geometry IS NULL)", name="code_xor_geometry"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), index=True)
    area_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"))
    geometry: Mapped[bytes | None] = mapped_column(LargeBinary)


class YouthRelation(Base):
    """Companions (applied together) and conflicts (must not share a house)."""

    __tablename__ = "youth_relations"
    __table_args__ = (
        CheckConstraint("kind IN ('companion', 'conflict')", name="kind"),
        CheckConstraint("youth_id <> other_youth_id", name="not_self"),
    )

    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), primary_key=True)
    other_youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)

    other: Mapped[Youth] = relationship(foreign_keys=[other_youth_id])


class Contingent(Base):
    __tablename__ = "contingents"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("used >= 0", name="used"),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year"),
        Index(
            "uq_contingents_key",
            "corporation_id",
            "gemeente_code",
            "year",
            text("coalesce(type_id, 0)"),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    corporation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    gemeente_code: Mapped[str] = mapped_column(ForeignKey("areas.code"))
    year: Mapped[int] = mapped_column(Integer)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("housing_types.id"))
    amount: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    corporation: Mapped[Organisation] = relationship()
    type: Mapped[HousingType | None] = relationship()


CONTINGENT_CHANGE_STATUSES = ("proposed", "accepted", "rejected", "withdrawn")


class ContingentChange(Base):
    """A proposed contingent amount (new or changed agreement) waiting for the other party.

    The contingent's counted ``amount`` changes only when the other side accepts; the rows are
    the agreement's history (who proposed, who decided, when)."""

    __tablename__ = "contingent_changes"
    __table_args__ = (
        CheckConstraint("new_amount >= 0", name="new_amount"),
        CheckConstraint("year >= 2000 AND year <= 2100", name="year"),
        CheckConstraint(_in("status", CONTINGENT_CHANGE_STATUSES), name="status"),
        Index("ix_contingent_changes_key", "corporation_id", "gemeente_code", "year", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contingent_id: Mapped[int | None] = mapped_column(ForeignKey("contingents.id"))
    corporation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    gemeente_code: Mapped[str] = mapped_column(String(10), ForeignKey("areas.code"))
    year: Mapped[int] = mapped_column(Integer)
    type_id: Mapped[int | None] = mapped_column(ForeignKey("housing_types.id"))
    old_amount: Mapped[int | None] = mapped_column(Integer)
    new_amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_by_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)

    corporation: Mapped[Organisation] = relationship(foreign_keys=[corporation_id])
    type: Mapped[HousingType | None] = relationship()
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    proposed_by_org: Mapped[Organisation | None] = relationship(foreign_keys=[proposed_by_org_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class PasswordReset(Base):
    """A one-time link to set a password: only a SHA-256 hash of the token is stored; it
    expires and is used once."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PolicyRow(Base):
    """Huurtoeslag and affordability figures in force from ``valid_from`` (DOMAIN.md)."""

    __tablename__ = "policy"
    __table_args__ = (
        CheckConstraint(
            "max_rent_share_of_income > 0 AND max_rent_share_of_income <= 1", name="share"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, unique=True)
    kwaliteitskortingsgrens: Mapped[float] = mapped_column(Float)
    aftoppingsgrens_1_2: Mapped[float] = mapped_column(Float)
    aftoppingsgrens_3plus: Mapped[float] = mapped_column(Float)
    maximale_huurgrens: Mapped[float] = mapped_column(Float)
    young_tenant_min_age: Mapped[int] = mapped_column(Integer)
    young_tenant_max_age: Mapped[int] = mapped_column(Integer)
    servicekosten_in_rekenhuur: Mapped[bool] = mapped_column(Boolean)
    basishuur: Mapped[float] = mapped_column(Float)
    share_above_kwaliteitskorting: Mapped[float] = mapped_column(Float)
    max_rent_share_of_income: Mapped[float] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(Text, default="")


class AllocationRound(Base):
    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint(_in("status", ROUND_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="created")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    solver_version: Mapped[str] = mapped_column(String(40), default="")
    policy_valid_from: Mapped[date | None] = mapped_column(Date)
    # Deferred: the round's whole input (every young person of the month), read only where it
    # is needed; decisions, lists and summaries load rounds without decoding it.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version_id}

    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="round", order_by="Proposal.version"
    )


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("round_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    objective: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)  # read where shown
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    round: Mapped[AllocationRound] = relationship(back_populates="proposals")
    matches: Mapped[list[Match]] = relationship(back_populates="proposal")


class Match(Base):
    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("proposal_id", "youth_id"),
        CheckConstraint(_in("status", MATCH_STATUSES), name="status"),
        CheckConstraint(
            "reason_code IS NULL OR " + _in("reason_code", REJECT_REASONS), name="reason_code"
        ),
        CheckConstraint(
            "status <> 'rejected' OR reason_code IS NOT NULL", name="rejected_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    youth_id: Mapped[int] = mapped_column(ForeignKey("youths.id"))
    option_id: Mapped[int] = mapped_column(ForeignKey("housing_options.id"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version_id: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version_id}

    proposal: Mapped[Proposal] = relationship(back_populates="matches")
    youth: Mapped[Youth] = relationship()
    option: Mapped[HousingOption] = relationship()


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuthToken(Base):
    """A sign-in: a browser session (cookie, with CSRF token) or an API bearer token.

    Only a SHA-256 hash of the token is stored, so a database leak does not leak sessions.
    """

    __tablename__ = "auth_tokens"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful sign-ins, for throttling and for the privacy officer."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),  # sign-in back-off per client
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200))
    client: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    success: Mapped[bool] = mapped_column(Boolean)


class SupplyScenario(Base):
    """A stored supply scenario (issue 6): the base plus named changes, as JSON records
    (``supply.scenario.scenario_to_record``). The name ``base`` is reserved for no changes."""

    __tablename__ = "supply_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list[Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


NOTIFICATION_KINDS = ("round_published", "round_final", "contingent_proposed", "contingent_decided")


class Notification(Base):
    """A message in one user's in-app inbox (issue 14): a round published, placements made.

    It holds no personal data beyond youth codes. ``round_id`` has no foreign key on purpose: an
    unpublished round may be replaced (deleted), and a message about it must not block that.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    round_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TotpRecoveryCode(Base):
    """One of a user's ten single-use recovery codes: only a SHA-256 hash is stored (the codes
    carry 80 random bits, so a fast hash is enough)."""

    __tablename__ = "totp_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInChallenge(Base):
    """A sign-in half done: the password was right, the second factor (or its enrolment) is
    still due. It is not a session: nothing but the TOTP pages accepts its cookie. Only a hash
    of its token is stored; ``pending_secret`` is the secret being enrolled, until confirmed."""

    __tablename__ = "sign_in_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pending_secret: Mapped[str | None] = mapped_column(String(64))
    next_path: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


JOB_KINDS = ("solve", "projection")
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """Work for a worker (issue 17 item 5): a round to solve, a projection to compute.

    A worker claims a job with a lease (``lease_until``) and renews it while it works; a worker
    that dies stops renewing, and once the lease has run out another worker claims the job again.
    ``token`` changes with every claim: it fences the holder, so a worker whose lease was taken
    over cannot store its result (``store.jobs``). ``payload`` and ``result`` hold ids and
    figures, no personal data.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    token: Mapped[str | None] = mapped_column(String(32))
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class SsoLogin(Base):
    """A single sign-on under way (issue 17 item 4): sent to the identity provider, not yet
    back. Keyed by a hash of the ``state`` the browser also holds in a cookie; the ``nonce``
    and the PKCE ``code_verifier`` are checked on the way back. One use; gone once expired."""

    __tablename__ = "sso_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
