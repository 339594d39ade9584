"""Accounts in the settings file (`[[accounts]]`) and the address and file checks every setting uses."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def existing_file(value: Path | None) -> Path | None:
    """A settings path that must name a readable file, or be unset."""
    if value is not None and not value.is_file():
        raise ValueError(f"no such file: {value}")
    return value


def plain_address(value: str) -> str:
    """A bare address, lower-cased; ValueError for anything that could smuggle a header or a list."""
    value = value.strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or "." not in domain or any(c in value for c in " \r\n<>,;"):
        raise ValueError(f"must be a plain address like care@example.com, got {value!r}")
    return value.lower()


def language_code(value: str) -> str:
    """An ISO 639-1 (or 639-2) language code, lower-cased: "fr", "de", "pt"."""
    code = value.strip().lower()
    if not re.fullmatch(r"[a-z]{2,3}", code):
        raise ValueError(f"must be a language code like en, fr or de, got {value!r}")
    return code


class AccountConfig(BaseModel):
    """One account in the TOML file (`[[accounts]]`): whose clients, who owns them, when they work."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    owner: str
    owner_name: str = ""
    domains: list[str] = []
    addresses: list[str] = []
    staff: list[str] = []
    second_level: str | None = None
    timezone: str = "UTC"
    business_hours: str = "09:00-17:00"
    business_days: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    digest_time: str = "08:30"
    # ISO 639-1: what clients are written in when we have no templates in their language, and what
    # the owner's digests are written in (unset: the same)
    language: str = "en"
    owner_language: str | None = None

    @field_validator("language", "owner_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else language_code(value)

    @field_validator("owner", "second_level")
    @classmethod
    def _one(cls, value: str | None) -> str | None:
        return None if value is None else plain_address(value)

    @field_validator("addresses", "staff")
    @classmethod
    def _many(cls, value: list[str]) -> list[str]:
        return [plain_address(v) for v in value]

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower().lstrip("@") for v in value]
        for domain in out:
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
                raise ValueError(f"not a domain: {domain!r}")
        return out

    @model_validator(mode="after")
    def _hours(self) -> AccountConfig:
        from service.core.businesstime import BusinessHours

        BusinessHours.parse(self.timezone, self.business_hours, self.business_days)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.digest_time):
            raise ValueError(f"digest_time must be HH:MM, got {self.digest_time!r}")
        return self
