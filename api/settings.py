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


@lru_cache
def get_settings() -> Settings:
    return Settings()
