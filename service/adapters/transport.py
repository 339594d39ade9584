"""Delivery of outbox rows: SMTP with aiosmtplib (one reused connection), or into a Maildir."""

from __future__ import annotations

import logging
import mailbox
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import aiosmtplib

from service.adapters.inbox import ensure_maildir
from service.adapters.oauth import StaticToken, TokenSource
from service.adapters.urls import MailURL
from service.core.retry import smtp_is_permanent
from service.errors import SendError, TokenRenewalError
from service.mailformat.compose import wire_address

log = logging.getLogger(__name__)


class Transport(Protocol):
    name: str

    async def send(self, raw: bytes, *, mail_from: str, to: str) -> None: ...
    async def close(self) -> None: ...


class MaildirTransport:
    """Every outgoing message is delivered into a Maildir instead of sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"maildir://{path}"
        self._box: mailbox.Maildir | None = None

    async def send(self, raw: bytes, *, mail_from: str, to: str) -> None:
        try:
            if self._box is None:
                ensure_maildir(self.path)
                self._box = mailbox.Maildir(self.path, create=True)
            self._box.add(raw)  # written to tmp/, then renamed into new/: atomic
        except OSError as exc:
            raise SendError(f"{self.name}: {exc}") from exc

    async def close(self) -> None:
        self._box = None


class SmtpTransport:
    """One SMTP connection, opened on first use and reused until it fails."""

    def __init__(self, url: MailURL, *, secret: str | None, auth: str,
                 ssl_context: ssl.SSLContext, timeout_s: float = 60.0, tokens: TokenSource | None = None) -> None:
        self.url = url
        self.name = url.redacted()
        self._secret = secret
        self._auth = auth
        self._tokens = tokens or (StaticToken(secret) if secret is not None else None)
        self._ssl = ssl_context
        self._timeout = timeout_s
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        url = self.url
        # STARTTLS is required off loopback; on loopback it is used when offered
        start_tls: bool | None = None if url.implicit_tls or url.loopback else True
        token_gen: Callable[[], Awaitable[str]] | None = None
        password = None
        if url.user and self._auth == "xoauth2" and self._tokens is not None:
            token_gen = self._tokens.token  # asked at each login: a renewed token once it nears expiry
        elif url.user and self._secret is not None:
            password = self._secret
        smtp = aiosmtplib.SMTP(
            hostname=url.host, port=url.port, use_tls=url.implicit_tls, start_tls=start_tls,
            tls_context=self._ssl, timeout=self._timeout,
            username=url.user if (password is not None or token_gen is not None) else None,
            password=password, oauth_token_generator=token_gen,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def send(self, raw: bytes, *, mail_from: str, to: str, renewed: bool = False) -> None:
        try:
            rcpt = wire_address(to)  # before connecting: an address that cannot travel fails at once
            smtp = await self._connection()
            await smtp.sendmail(mail_from, [rcpt], raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            code = first.code if first else 550
            await self._drop()
            raise SendError(f"{code} {first.message if first else exc}",
                            permanent=smtp_is_permanent(code)) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self._drop()
            if self._auth == "xoauth2" and self._tokens is not None and not renewed:
                # expired or revoked before its time: once more at once, with a renewed token
                log.info("%s refused the OAuth2 token (%s %s); renewing it", self.name, exc.code, exc.message)
                self._tokens.invalidate()
                return await self.send(raw, mail_from=mail_from, to=to, renewed=True)
            # credentials may be fixed by the operator: keep retrying with backoff
            raise SendError(f"login refused: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop()
            raise SendError(f"{exc.code} {exc.message}", permanent=smtp_is_permanent(exc.code)) from exc
        except TokenRenewalError as exc:
            await self._drop()
            raise SendError(f"{self.name}: {exc}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            await self._drop()
            raise SendError(f"{self.name}: {type(exc).__name__}: {exc}") from exc

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.close()
            except Exception as exc:  # noqa: BLE001 - closing a broken connection
                log.debug("closing SMTP connection: %s", exc)

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                smtp.close()
