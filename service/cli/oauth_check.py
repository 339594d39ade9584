"""`followup check`'s OAuth2 line: a token renewed now, when it expires, and when the client secret does."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from service.core.incident_policy import SECRET_WARNING_DAYS

if TYPE_CHECKING:
    from service.adapters.oauth import RenewingToken
    from service.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


async def token_source(settings: Settings, exits: AsyncExitStack) -> RenewingToken | None:
    """The worker's self-renewing token, reading a rotated refresh token from the database where it is."""
    if not settings.oauth2_renews:
        return None
    from service.runtime.wiring import make_token_source
    from service.store.db import make_engine, session_factory, sqlite_path

    path = sqlite_path(settings.database_url)
    sessions = None
    if path is None or path.exists():  # never makes an empty SQLite file: check only looks
        engine = make_engine(settings.database_url)
        exits.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
    return make_token_source(settings, sessions, _now)


def secret_expiry(expires: date | None, today: date) -> str:
    """What is known of the client secret's expiry, with a warning when it is near or past."""
    if expires is None:
        return "client secret expiry unknown (set FOLLOWUP_OAUTH2_CLIENT_SECRET_EXPIRES)"
    days = (expires - today).days
    if days < 0:
        return f"client secret EXPIRED on {expires.isoformat()}: make a new one at the provider"
    warning = " - make a new one soon" if days <= SECRET_WARNING_DAYS else ""
    return f"client secret expires {expires.isoformat()} (in {days} days{warning})"


async def describe(tokens: RenewingToken) -> str:
    """Renew the access token now and say what it, the refresh token and the client secret look like."""
    await tokens.token()
    status = tokens.status
    now = _now()
    if status.expires_at is not None:
        minutes = int((status.expires_at - now).total_seconds() // 60)
        expiry = f"access token valid until {status.expires_at:%Y-%m-%d %H:%M:%S} UTC (in {minutes} min)"
    else:
        expiry = "access token granted (the provider gives no lifetime)"
    parts = [f"{expiry}, renewed {tokens.renew_before_s:g} s before it expires, by the "
             f"{tokens.client.grant} grant at {tokens.name}"]
    if tokens.client.grant == "refresh_token":
        rotated = tokens.store.rotated_at if tokens.store is not None else None
        parts.append(f"refresh token rotated {rotated[:19]}, kept in the database" if rotated
                     else "refresh token from the settings")
    if tokens.client.client_secret is not None:
        parts.append(secret_expiry(status.client_secret_expires, now.date()))
    return "; ".join(parts)
