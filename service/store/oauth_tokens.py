"""The OAuth2 refresh token a provider rotated, kept where every worker and the next start find it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.store.models import KeyValue


def _row_key(identity: str) -> str:
    return "oauth2_refresh:" + hashlib.sha256(identity.encode()).hexdigest()[:24]


def _fingerprint(seed: str | None) -> str:
    return hashlib.sha256((seed or "").encode()).hexdigest()[:24]


async def load_refresh_token(session: AsyncSession, identity: str, seed: str | None) -> tuple[str, str] | None:
    """The kept token and when it was rotated, or None when none is kept for the settings' token.

    A kept token belongs to the refresh token the settings gave when it was rotated: once an operator
    puts a new one in the settings (after consenting again), theirs wins over the kept one.
    """
    row = await session.get(KeyValue, _row_key(identity))
    if row is None:
        return None
    kept = json.loads(row.value)
    if kept.get("seed") != _fingerprint(seed):
        return None
    return str(kept["token"]), str(kept.get("rotated_at", ""))


async def save_refresh_token(session: AsyncSession, identity: str, seed: str | None, token: str,
                             now: datetime) -> None:
    """Keep the token the provider rotated to (every worker reads it at its next renewal)."""
    value = json.dumps({"token": token, "seed": _fingerprint(seed), "rotated_at": now.isoformat()})
    row = await session.get(KeyValue, _row_key(identity))
    if row is None:
        session.add(KeyValue(key=_row_key(identity), value=value))
    else:
        row.value = value
