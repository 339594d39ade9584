"""OAuth2 access tokens for XOAUTH2 logins that renew themselves (authlib's OAuth2 client over httpx2).

Two grants: `refresh_token` (Gmail, Microsoft 365 delegated) and `client_credentials` (Microsoft 365
app-only). An access token lives about an hour at the providers; `RenewingToken.token()` hands out the
one it holds until `renew_before_s` before its expiry, then asks the token endpoint for another, and a
server that refuses a login makes the adapter call `invalidate()` and try once more with a new one.
A provider that rotates refresh tokens sends a new one with each grant: it is kept through
`RefreshTokenStore` (the database), or the next start would present a spent one.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from service.core.retry import backoff_s
from service.errors import TokenRenewalError

log = logging.getLogger(__name__)

Grant = Literal["refresh_token", "client_credentials"]
# after a failed renewal the provider is asked again after 1 to 2 s, growing to at most 5 min
RETRY_BASE_S = 2.0
RETRY_CAP_S = 300.0


class TokenSource(Protocol):
    """What an XOAUTH2 login asks for its bearer token."""

    async def token(self) -> str: ...
    def invalidate(self) -> None: ...


class StaticToken:
    """A fixed token from the settings (`FOLLOWUP_IMAP_OAUTH2_TOKEN`): it never renews."""

    def __init__(self, value: str) -> None:
        self._value = value

    async def token(self) -> str:
        return self._value

    def invalidate(self) -> None:
        """Nothing to renew: the next login presents the same token, and fails the same way."""


class RefreshTokenStore(Protocol):
    """Where a rotated refresh token is kept between runs (the database: every worker shares it)."""

    # when the kept token was rotated (ISO 8601), once loaded or saved; None: the settings' token is in use
    rotated_at: str | None

    async def load(self) -> str | None: ...
    async def save(self, refresh_token: str) -> None: ...


@dataclass(frozen=True)
class OAuthClient:
    """The provider and the application registered there."""

    token_url: str
    grant: Grant
    client_id: str
    client_secret: str | None = None
    refresh_token: str | None = None  # the one the settings give; a rotated one in the store wins
    scope: str | None = None
    renew_before_s: float = 300.0
    timeout_s: float = 30.0
    client_secret_expires: date | None = None


@dataclass(frozen=True)
class TokenStatus:
    """What `followup check`, /healthz and the operator's incident mails say about the token."""

    expires_at: datetime | None
    renewed_at: datetime | None
    renewals: int
    last_error: str | None
    client_secret_expires: date | None
    failing_since: datetime | None = None  # the first renewal of the current spell of failures


class RenewingToken:
    """An access token renewed before it expires and whenever a server refuses it."""

    def __init__(self, client: OAuthClient, store: RefreshTokenStore | None,
                 now: Callable[[], datetime], ssl_context: ssl.SSLContext | None = None) -> None:
        self.client = client
        self._store = store
        self._ssl = ssl_context
        self._now = now
        self._lock = asyncio.Lock()
        self._access: str | None = None
        self._expires_at: datetime | None = None
        self._renewed_at: datetime | None = None
        self._renewals = 0
        self._last_error: str | None = None
        self._rotated: str | None = None
        self._failing_since: datetime | None = None
        self._failures = 0
        self._retry_at: datetime | None = None
        self.name = endpoint_name(client.token_url)

    @property
    def store(self) -> RefreshTokenStore | None:
        return self._store

    @property
    def renew_before_s(self) -> float:
        return self.client.renew_before_s

    @property
    def status(self) -> TokenStatus:
        return TokenStatus(self._expires_at, self._renewed_at, self._renewals, self._last_error,
                           self.client.client_secret_expires, self._failing_since)

    def _fresh(self) -> bool:
        if self._access is None:
            return False
        if self._expires_at is None:
            return True  # the provider gave no lifetime: used until a server refuses it
        return self._expires_at - self._now() > timedelta(seconds=self.client.renew_before_s)

    async def token(self) -> str:
        """The current access token, renewed first when it is missing or near its expiry."""
        async with self._lock:  # IMAP and SMTP logins at once make one renewal, not two
            if self._access is not None and self._fresh():
                return self._access
            if self._retry_at is not None and self._now() < self._retry_at:
                # a provider that just refused or went away is asked again only after a growing pause,
                # not by every login and scheduler tick in between
                raise TokenRenewalError(f"{self._last_error} (next try at {self._retry_at:%H:%M:%S} UTC)")
            return await self._renew()

    def invalidate(self) -> None:
        """A server refused the token: the next `token()` asks the provider for another."""
        self._access = None

    async def _renew(self) -> str:
        refresh = await self._refresh_token() if self.client.grant == "refresh_token" else None
        try:
            granted = await self._grant(refresh)
        except TokenRenewalError as exc:
            self._failed(str(exc))
            log.error("OAuth2 token renewal failed: %s", exc)
            raise
        access = granted.get("access_token")
        if not isinstance(access, str) or not access:
            self._failed(f"{self.name}: the answer carries no access_token")
            raise TokenRenewalError(self._last_error)
        now = self._now()
        expires_in = granted.get("expires_in")
        self._access = access
        self._expires_at = now + timedelta(seconds=float(expires_in)) if expires_in else None
        self._renewed_at = now
        self._renewals += 1
        self._last_error = None
        self._failing_since = None
        self._failures, self._retry_at = 0, None
        rotated = granted.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != refresh:
            self._rotated = rotated
            if self._store is not None:
                # kept at once: a crash now must not leave only the spent token behind
                await self._store.save(rotated)
                log.info("OAuth2 refresh token rotated by %s; the new one is kept in the database", self.name)
        log.info("OAuth2 access token renewed at %s, valid until %s", self.name,
                 self._expires_at.isoformat() if self._expires_at else "the provider says nothing")
        return access

    def _failed(self, error: str) -> None:
        now = self._now()
        self._last_error = error
        self._failing_since = self._failing_since or now
        self._failures += 1
        self._retry_at = now + timedelta(seconds=backoff_s(self._failures, base_s=RETRY_BASE_S, cap_s=RETRY_CAP_S))

    async def _refresh_token(self) -> str:
        # the database's first: another worker may have rotated it since this one last did
        stored = await self._store.load() if self._store is not None else None
        refresh = stored or self._rotated or self.client.refresh_token
        if not refresh:
            self._failed("no refresh token (FOLLOWUP_OAUTH2_REFRESH_TOKEN)")
            raise TokenRenewalError(self._last_error)
        return refresh

    async def _grant(self, refresh: str | None) -> dict[str, Any]:
        # imported here: only a worker logging in with OAuth2 pays for authlib and httpx2
        import httpx2
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        c = self.client
        try:
            async with AsyncOAuth2Client(client_id=c.client_id, client_secret=c.client_secret, scope=c.scope,
                                         timeout=c.timeout_s, trust_env=False,
                                         verify=self._ssl if self._ssl is not None else True) as session:
                if c.grant == "client_credentials":
                    token = await session.fetch_token(c.token_url, grant_type="client_credentials")
                else:
                    token = await session.refresh_token(c.token_url, refresh_token=refresh)
        except OAuthError as exc:
            described = f": {exc.description}" if exc.description else ""
            raise TokenRenewalError(f"{self.name} refused the {c.grant} grant: {exc.error}{described}") from exc
        except (httpx2.HTTPError, OSError, ValueError) as exc:
            raise TokenRenewalError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        return dict(token)


def endpoint_name(url: str) -> str:
    """The token endpoint as logs and errors show it: scheme, host and path, never a query or a login."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
