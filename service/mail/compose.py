"""Build outgoing messages so that nothing from an inbound message can add a header or recipient."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from service.errors import SendError
from service.mail.parse import MSGID_RE, TOKEN_RE, decode_words, one_line

_RE_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def header_safe(value: str, limit: int = 998) -> str:
    """Text that stays one header value.

    The stdlib decodes RFC 2047 encoded words in values it is given, so
    `=?utf-8?q?x=0D=0ABcc:...?=` would come out as a real line break: decode
    first, collapse control characters, then break any encoded word left.
    """
    return one_line(decode_words(value), limit).replace("=?", "= ?")


def new_message_id(domain: str) -> str:
    """A fresh Message-ID, fixed when the outbox row is written."""
    return make_msgid(idstring="followup", domain=domain)


def reply_subject(original: str, token: str | None) -> str:
    """`Re: <subject> [#C-12]` (no token: `Re: <subject>`), whatever prefixes and tokens it carried."""
    base = _RE_PREFIX.sub("", header_safe(original, 300))
    base = TOKEN_RE.sub("", base).strip() or "your message"
    return f"Re: {base} [#{token}]" if token else f"Re: {base}"


def safe_address(addr: str, name: str = "") -> Address:
    """An Address from untrusted parts; raise SendError if it is not one plain mailbox."""
    addr = addr.strip()
    if not addr or any(c in addr for c in "\r\n\t ,;<>\"()") or addr.count("@") != 1:
        raise SendError(f"not a single plain address: {addr!r}", permanent=True)
    local, _, domain = addr.partition("@")
    try:
        return Address(display_name=header_safe(name, 100), username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise SendError(f"not a valid address: {addr!r}: {exc}", permanent=True) from exc


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    to_addr: str
    raw: bytes


def compose(
    *,
    from_addr: str,
    from_name: str,
    to_addr: str,
    to_name: str,
    subject: str,
    text: str,
    html: str | None,
    now: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    auto_submitted: str = "auto-replied",
) -> Outgoing:
    """Render one message to bytes (CRLF, SMTP policy), ready for the outbox."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = safe_address(from_addr, from_name)
    recipient = safe_address(to_addr, to_name)
    msg["To"] = recipient
    msg["Subject"] = header_safe(subject, 400)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    thread = [r for r in references if MSGID_RE.fullmatch(r)][-20:]
    if in_reply_to and MSGID_RE.fullmatch(in_reply_to):
        msg["In-Reply-To"] = in_reply_to
        if in_reply_to not in thread:
            thread.append(in_reply_to)
    if thread:
        msg["References"] = " ".join(thread)
    # RFC 3834: mark every message we send as automatic, and ask Exchange not to answer it
    msg["Auto-Submitted"] = auto_submitted
    msg["X-Auto-Response-Suppress"] = "All"
    for name, value in (headers or {}).items():
        msg[name] = header_safe(value, 200)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return Outgoing(message_id=message_id, to_addr=recipient.addr_spec.lower(), raw=msg.as_bytes())
