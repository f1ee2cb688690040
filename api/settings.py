"""Application settings from the environment (prefix ``STEK_``)."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
