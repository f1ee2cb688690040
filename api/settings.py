"""Application settings from the environment (prefix ``STEK_``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.db import DEFAULT_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEK_", extra="ignore")

    database_url: str = DEFAULT_URL
    app_name: str = "stek"
    demo_password: str = "demo"
    # Request-size limits, checked before a body is read (issue 13).
    max_import_bytes: int = 50 * 1024 * 1024
    max_form_bytes: int = 64 * 1024
    # Rows of errors an import answers with; the rest is only counted.
    max_import_errors: int = 1000
    # Comma-separated addresses of reverse proxies whose X-Forwarded-For is trusted; empty: none.
    trusted_proxies: str = ""
    # JSON API bodies (issue 13): the largest real one, a scenario with its changes, is a few kB.
    max_json_bytes: int = 1024 * 1024
    # Sign-in back-off (issue 13): after a few free failures the wait doubles from this base up
    # to the cap, per account and client and per client (api/auth.py).
    login_backoff_base_s: float = 1.0
    login_backoff_cap_s: float = 15 * 60.0
    # TOTP second factor (issue 17 item 4): required for the roles in api.auth.TOTP_ROLES when
    # on (the default: production); the test suite switches it off (tests/conftest.py).
    require_totp: bool = True
    # E-mail for notifications (issue 14): no host, no e-mail (the in-app inbox only).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "stek@localhost"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0
    # Retention terms in days per kind (issue 17 item 1; docs/retention.md, store/retention.py).
    retention_round_snapshots_days: int = 365
    retention_youths_left_days: int = 730
    retention_login_attempts_days: int = 30
    retention_sessions_days: int = 30
    retention_audit_entries_days: int = 1826
    # The retention job's own database role (PostgreSQL: the only role that may delete audit
    # entries past their term); empty: the application's URL. Hours between runs in the server
    # (0: no run inside the server, e.g. when a timer runs `stek retention run`).
    retention_database_url: str = ""
    retention_interval_hours: float = 24.0
    # Small-cell protection (issue 17 item 2; supply/disclosure.py, docs/privacy.md): figures
    # about young people between 0 and this are not shown to planners, gemeenten or on maps.
    small_cell_threshold: int = 5
    # Logs (issue 17 item 6): "json" (one object a line, with the request id) or "text".
    log_format: str = "json"
    log_level: str = "INFO"
    # Jobs (issue 17 item 5; docs/workers.md): solves run as jobs in the database. On, the
    # server runs the jobs its requests enqueue and picks up orphaned ones; off (`stek serve
    # --no-jobs`), only `stek worker` processes run them. A worker renews its lease every third
    # of this; a worker silent for this long is presumed dead and its job taken over.
    jobs_in_server: bool = True
    job_lease_s: float = 30.0
    # Single sign-on with the organisation's OpenID Connect provider (issue 17 item 4; api/sso.py,
    # docs/deployment.md): off while no issuer is set. The role claim holds a stek role, the
    # organisation claim an organisation code; new accounts only for the roles in oidc_roles.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_redirect_url: str = ""  # empty: this server's /inloggen/sso/terug as requested
    oidc_role_claim: str = "stek_rol"
    oidc_organisation_claim: str = "stek_organisatie"
    oidc_roles: str = "gemeente,corporatie,regisseur,planner"
    oidc_provider_name: str = "je organisatie"
    oidc_timeout_s: float = 10.0

    @field_validator(
        "retention_round_snapshots_days",
        "retention_youths_left_days",
        "retention_login_attempts_days",
        "retention_sessions_days",
        "retention_audit_entries_days",
        mode="before",
    )
    @classmethod
    def _whole_days(cls, value: Any, info: Any) -> int:
        name = f"STEK_{info.field_name.upper()}"
        text = str(value).strip()
        if not text.isdigit():  # also refuses "-1", "1.5", "", "30d"
            raise ValueError(
                f"{name} moet een heel aantal dagen zijn, 0 of meer (gekregen: {text!r})"
            )
        return int(text)

    @field_validator("retention_interval_hours")
    @classmethod
    def _interval(cls, value: float) -> float:
        if not value >= 0:  # also NaN
            raise ValueError(
                f"STEK_RETENTION_INTERVAL_HOURS moet 0 of meer zijn (gekregen: {value})"
            )
        return value

    @field_validator("small_cell_threshold", mode="before")
    @classmethod
    def _threshold(cls, value: Any) -> int:
        text = str(value).strip()
        if not text.isdigit() or not 2 <= int(text) <= 100:
            raise ValueError(
                "STEK_SMALL_CELL_THRESHOLD moet een heel getal van 2 tot en met 100 zijn"
                f" (gekregen: {text!r}); kleinere aantallen worden afgeschermd"
            )
        return int(text)

    @field_validator("job_lease_s")
    @classmethod
    def _lease(cls, value: float) -> float:
        if not 1.0 <= value <= 3600.0:  # also NaN
            raise ValueError(
                f"STEK_JOB_LEASE_S moet tussen 1 en 3600 seconden liggen (gekregen: {value})"
            )
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("json", "text"):
            raise ValueError(f"STEK_LOG_FORMAT moet 'json' of 'text' zijn (gekregen: {value!r})")
        return value


def settings_problems(exc: ValidationError) -> str:
    """The Dutch messages of a settings error, one a line (for a clean stop at start-up)."""
    lines = []
    for error in exc.errors():
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        where = ".".join(str(p) for p in error.get("loc", ()))
        lines.append(message if "STEK_" in message else f"STEK_{where.upper()}: {message}")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
