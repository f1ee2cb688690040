"""Application settings from the environment (prefix ``STEK_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
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
    # E-mail for notifications (issue 14): no host, no e-mail (the in-app inbox only).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "stek@localhost"
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
