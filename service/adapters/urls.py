"""Mail URLs: imap(s)://, smtp(s):// and maildir://, parsed and checked; and what counts as loopback."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses, where plain text needs no TLS."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class MailURL:
    """A parsed inbox or outbox URL: imap(s)://, smtp(s):// or maildir://."""

    scheme: str
    user: str | None
    host: str
    port: int
    path: str  # IMAP folder, or the Maildir directory

    @property
    def is_maildir(self) -> bool:
        return self.scheme == "maildir"

    @property
    def implicit_tls(self) -> bool:
        return self.scheme in {"imaps", "smtps"}

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    def redacted(self) -> str:
        if self.is_maildir:
            return f"maildir://{self.path}"
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}/{self.path}".rstrip("/")


_DEFAULT_PORTS = {"imaps": 993, "imap": 143, "smtps": 465, "smtp": 587}


def parse_mail_url(raw: str, *, kinds: tuple[str, ...]) -> MailURL:
    """Parse and check a mail URL; raise ValueError saying what is wrong."""
    parts = urlsplit(raw.strip())
    scheme = parts.scheme.lower()
    if scheme not in kinds:
        raise ValueError(f"scheme must be one of {', '.join(k + '://' for k in kinds)}, got {raw!r}")
    if scheme == "maildir":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ValueError("maildir:// needs a path, e.g. maildir:///var/mail/followup")
        return MailURL("maildir", None, "", 0, path)
    if parts.password:
        raise ValueError("put the password in FOLLOWUP_IMAP_PASSWORD / FOLLOWUP_SMTP_PASSWORD, not the URL")
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in {raw!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ValueError(f"bad port in {raw!r}") from exc
    user = unquote(parts.username) if parts.username else None
    folder = unquote(parts.path.lstrip("/"))
    if scheme.startswith("imap") and not folder:
        folder = "INBOX"
    return MailURL(scheme, user, host, port, folder)
