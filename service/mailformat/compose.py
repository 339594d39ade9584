"""Build outgoing messages so that nothing from an inbound message can add a header or recipient."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import charset as email_charset
from email.headerregistry import Address
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import idna

from service.errors import SendError
from service.mailformat.headers import decode_words
from service.mailformat.parse import MSGID_RE, TOKEN_RE, one_line


# The stdlib's compat32 classes write a message about 5x faster than EmailMessage with a
# modern policy (profiled: composing was a third of the time of filing a concern). The
# values are made one-line by header_safe first, which the modern policy did for us.
class _Wire(Compat32):
    """compat32 with CRLF line ends that writes a plain-ASCII header without folding it when it needs none.

    Folding builds an email.header.Header for every header, which was half the time of
    composing; a one-line ASCII value under 78 characters comes out of it unchanged, and a
    longer one with nowhere to fold it (a List-Unsubscribe mailto) comes out alone on the
    next line. Both are written here as Header would (the same bytes; tests/test_compose.py).
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, str) and value.isascii():
            if len(name) + len(value) + 2 <= 78:
                return f"{name}: {value}{self.linesep}".encode("ascii")
            if _ONE_WORD.fullmatch(value) and "=?" not in value:
                return f"{name}: {self.linesep} {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# what Header would not fold: no whitespace, and none of the characters it splits at (";" and ",")
_ONE_WORD = re.compile(r"[^\s;,]{1,900}")
_WIRE = _Wire(linesep="\r\n")
_UTF8 = email_charset.Charset("utf-8")
_UTF8.body_encoding = email_charset.QP  # readable in a raw dump, unlike compat32's default base64
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


def wire_address(addr: str) -> str:
    """The address as it can travel without SMTPUTF8: an internationalised domain as IDNA 2008 A-labels.

    A non-ASCII local part (RFC 6531) has no such form: SendError, permanent.
    """
    local, _, domain = addr.rpartition("@")
    if not local.isascii():
        raise SendError(f"{addr!r} has a non-ASCII local part, which needs SMTPUTF8", permanent=True)
    if domain.isascii():
        return addr
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError as exc:
        raise SendError(f"not a valid domain: {addr!r}: {exc}", permanent=True) from exc


def safe_address(addr: str, name: str = "") -> Address:
    """An Address from untrusted parts, its domain in ASCII; raise SendError if it is not one plain mailbox."""
    addr = addr.strip()
    if not addr or any(c in addr for c in "\r\n\t ,;<>\"()") or addr.count("@") != 1:
        raise SendError(f"not a single plain address: {addr!r}", permanent=True)
    local, _, domain = wire_address(addr).partition("@")
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
    """Render one message to bytes (CRLF line ends), ready for the outbox."""
    sender = safe_address(from_addr, from_name)
    recipient = safe_address(to_addr, to_name)
    msg: MIMEMultipart | MIMENonMultipart
    if html is None:
        msg = _text_part(text, "plain")
    else:
        # a boundary of our own: the stdlib would compile a regular expression per message to
        # pick one; a random uuid cannot occur in the parts
        msg = MIMEMultipart("alternative", boundary=f"=_followup_{uuid.uuid4().hex}", policy=_WIRE)
        msg.attach(_text_part(text, "plain"))
        msg.attach(_text_part(html, "html"))
    msg["From"] = _mailbox(sender)
    msg["To"] = _mailbox(recipient)
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
    # an internationalised address stays as the client wrote it: the caps count it that way, and the
    # transport puts its ASCII form on the envelope
    to = recipient.addr_spec if to_addr.isascii() else to_addr.strip()
    return Outgoing(message_id=message_id, to_addr=to.lower(), raw=msg.as_bytes(policy=_WIRE))


def _mailbox(address: Address) -> str:
    # formataddr quotes specials and encodes a non-ASCII display name as an RFC 2047 word
    return formataddr((address.display_name, address.addr_spec), charset=_UTF8)


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, policy=_WIRE)
    part.set_payload(body, "us-ascii" if body.isascii() else _UTF8)
    return part
