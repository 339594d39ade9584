"""Raw bytes to `Inbound`: addresses, clean new text, thread keys and automatic-mail signals.

Never raises on bad mail: every step falls back to the best text available
and notes what was wrong in `Inbound.defects`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from functools import cached_property

from service.mailformat.autoreply import (
    SUBJECT_LIMIT,
    auto_reply_body,
    auto_reply_subject,
    bounce_notice,
    exchange_signals,
)
from service.mailformat.fingerprint import content_fingerprint
from service.mailformat.headers import decode_words as decode_words  # re-exported: parse's since the first release
from service.mailformat.headers import header_text
from service.mailformat.plain import BIDI_RE as BIDI_RE
from service.mailformat.plain import lines_of as lines_of
from service.mailformat.plain import one_line as one_line
from service.mailformat.plain import storable
from service.mailformat.quotes import answers_below_quotes, own_text, tagged_answers, without_banner
from service.mailformat.readers import address_header, first_reply, html_to_text, mime_within_depth, strip_tags
from service.mailformat.relay import Relay, find_author

TOKEN_RE = re.compile(r"\[#(C-\d{1,12})\]", re.IGNORECASE)
MSGID_RE = re.compile(r"<[^<>\s]{1,250}>")
# C0 and C1 controls (CR, LF, VT, FF, the file separators U+001C-1E and NEL U+0085 among them) and the
# Unicode line and paragraph separators: each ends a "line" for str.splitlines and for some mail programs
MAX_TEXT_CHARS = 100_000


@dataclass(frozen=True)
class Inbound:
    """One parsed inbound message; everything the pure core needs.

    `from_addr` and `from_name` are the author's: for a message a list or group passed on with
    From rewritten to its own address, the person the list names (`relay`); `header_from` is the
    address the From header holds, which only the owner-authority rules read.
    """

    message_id: str
    from_addr: str
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    new_text: str
    in_reply_to: str | None
    references: tuple[str, ...]
    concern_token: str | None
    auto_signals: tuple[str, ...]
    headers: dict[str, str] = field(repr=False)
    defects: tuple[str, ...] = ()
    header_from: str = ""  # the From header's address, whoever wrote the message
    relay: Relay | None = None  # the list or group that passed it on, if one did
    # every value, top first, of the headers whose repeats matter: DMARC refuses two From headers, and
    # each receiving server adds its own Authentication-Results above those already there
    repeated: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    @cached_property  # asked several times per message while a batch is stored
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this message answers, nearest first."""
        ids = list(reversed(self.references))
        if self.in_reply_to:
            ids.insert(0, self.in_reply_to)
        return tuple(dict.fromkeys(ids))

    @property
    def reply_address(self) -> str:
        return self.reply_to or self.from_addr


def _raw_headers(msg: Message) -> dict[str, str]:
    # raw_items() gives the header text as it came (either policy); we decode what we need
    # ourselves, so hostile header syntax never reaches a header parser that can raise.
    headers: dict[str, str] = {}
    try:
        items = list(msg.raw_items())
    except Exception:  # noqa: BLE001 - a broken header block still yields a message
        items = []
    for name, value in items:
        key = str(name).lower()
        text = value if isinstance(value, str) else str(value)
        if key not in headers:  # first wins: a duplicate header cannot override
            headers[key] = header_text(text.replace("\r", "").replace("\n", " "))
    return headers


REPEATED = ("from", "authentication-results")


def _repeated(msg: Message) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    try:
        items = list(msg.raw_items())
    except Exception:  # noqa: BLE001 - as in _raw_headers
        items = []
    for name, value in items:
        key = str(name).lower()
        if key in REPEATED:
            text = value if isinstance(value, str) else str(value)
            found.setdefault(key, []).append(header_text(text.replace("\r", "").replace("\n", " ")))
    return {k: tuple(v) for k, v in found.items()}


def _pairs(value: str) -> list[tuple[str, str]]:
    try:
        return getaddresses([address_header(value)])
    except RecursionError:  # the stdlib nests a group per ":" (a thousand of them in a hostile From)
        return []


def _address(value: str | None) -> tuple[str, str]:
    if not value:
        return "", ""
    for name, addr in _pairs(value):
        addr = one_line(addr).strip("<>").lower()
        if "@" in addr and " " not in addr:
            return one_line(decode_words(name), 200), addr
    return "", ""


def _addresses(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    found = []
    for _name, addr in _pairs(value):
        addr = one_line(addr).strip("<>").lower()
        if "@" in addr and " " not in addr:
            found.append(addr)
    return tuple(found)


def _decode_payload(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return payload.decode(candidate, errors="strict")
        except (LookupError, UnicodeDecodeError):
            continue
    # cp1252 decodes any byte: the best text available for an unknown charset
    return payload.decode("cp1252", errors="replace")


def _body_text(msg: Message, defects: list[str]) -> str:
    plain: str | None = None
    html: str | None = None
    try:
        parts = list(msg.walk())
    except Exception as exc:  # noqa: BLE001 - deeply broken MIME still has a top part
        defects.append(f"mime-walk: {type(exc).__name__}")
        parts = [msg]
    for part in parts:
        if part.is_multipart():
            continue
        disposition = str(part.get("Content-Disposition") or "").lower() if _safe_get(part) else ""
        if disposition.startswith("attachment"):
            continue
        ctype = part.get_content_type()
        try:
            if ctype == "text/plain" and plain is None:
                plain = _decode_payload(part)
            elif ctype == "text/html" and html is None:
                html = _decode_payload(part)
        except Exception as exc:  # noqa: BLE001 - one bad part must not lose the others
            defects.append(f"part {ctype}: {type(exc).__name__}")
    if plain and plain.strip():
        return plain
    if html:
        try:
            return html_to_text(html)
        except Exception as exc:  # noqa: BLE001
            defects.append(f"html: {type(exc).__name__}")
            return strip_tags(html)
    return plain or ""


def _safe_get(part: Message) -> bool:
    try:
        part.get("Content-Disposition")
    except Exception:  # noqa: BLE001
        return False
    return True


def strip_quotes(text: str) -> str:
    """The author's new words: quoted replies and signatures removed.

    The reply parser knows the quote heads of ten languages; what it leaves is cut again at the first
    quote head `quotes.own_text` knows (Portuguese, and Gmail's Spanish and Dutch attributions, which the
    parser misses: "El jue, 3 dic 2026 a las 10:00, Care (<care@...>) escribió:"). A reply written below
    or between `>`-marked quotes is read from its unmarked lines (the parser takes only what is above the
    first head), a gateway's external-sender warning is left out, and answers typed into a quote after the
    author's initials are added.
    """
    text = without_banner(text)
    below = answers_below_quotes(text)
    if below is not None and below.strip():
        # the reply parser takes the words above the first quote head, and there are none or few of them
        return below.strip()
    try:
        body = own_text(_unquoted(first_reply(_up_to_trailing_quote(text)))).strip()
        if body:
            # "my comments inline in [JH]": the answers typed into the quote below are the author's too
            inline = [line for line in tagged_answers(text) if line not in body]
            return "\n\n".join([body, "\n".join(inline)]) if inline else body
    except Exception:  # noqa: BLE001, S110 - fall back to the simple rule below
        pass
    lines = []
    for line in lines_of(own_text(text)):
        if line.lstrip().startswith(">"):
            continue
        if line.strip() in {"--", "-- "}:
            break
        lines.append(line)
    return "\n".join(lines).strip()


def _up_to_trailing_quote(text: str) -> str:
    """Text up to the first line of a quoted block that runs to the end, and no further.

    The reply parser runs some fifty regular expressions over all it is given;
    a top-posted reply's quoted history is most of its length and is cut
    anyway, so the parser reads its first line only (about 6x faster). Quotes
    with answers between them are left whole.
    """
    lines = [m.group() for m in _LINE_KEEPENDS_RE.finditer(text)]
    start = len(lines)
    while start > 0 and (not lines[start - 1].strip() or lines[start - 1].lstrip().startswith(">")):
        start -= 1
    for k in range(start, len(lines)):
        if lines[k].lstrip().startswith(">"):
            return "".join(lines[:k + 1])
    return text


_LINE_KEEPENDS_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _unquoted(body: str) -> str:
    # without a reply header ("On ... wrote:") the parser keeps quoted lines: they are not new words
    return "\n".join(line for line in lines_of(body) if not line.lstrip().startswith(">")).strip()


def auto_signals(headers: dict[str, str], from_addr: str, content_type: str,
                 noreply_patterns: tuple[str, ...] = (), from_name: str = "", body: str = "") -> tuple[str, ...]:
    """Reasons this message was sent by a machine (RFC 3834 and common practice).

    X-Auto-Response-Suppress is not one: a person's mail program may send it, and it asks only that
    we do not answer (`service.mailformat.autoreply.suppresses_auto_replies`).
    """
    found: list[str] = []
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        found.append(f"auto-submitted:{auto_submitted.split(';')[0]}")
    for name in ("x-autoreply", "x-autorespond", "x-autogenerated", "x-auto-reply"):
        if name in headers:
            found.append(name)
    found.extend(exchange_signals(headers))
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        found.append(f"precedence:{precedence}")
    for name in ("list-id", "list-unsubscribe", "list-post"):
        if name in headers:
            found.append(name)
            break
    if content_type == "multipart/report" or "report-type=" in headers.get("content-type", "").lower():
        found.append("delivery-report")
    local = from_addr.partition("@")[0]
    if local in {"mailer-daemon", "postmaster"} or not from_addr:
        found.append("mailer-daemon" if from_addr else "no-sender")
    if headers.get("return-path", "").strip() == "<>":
        found.append("null-return-path")
    if any(p in local for p in noreply_patterns):
        found.append("noreply-address")
    if "x-followup-instance" in headers:
        found.append("followup-instance")
    if any(name in headers for name in _CHALLENGE_HEADERS):
        found.append("challenge-response")
    subject = decode_words(headers.get("subject", "")[:SUBJECT_LIMIT])
    if bounce_notice(from_addr, from_name, subject):
        found.append("bounce-notice")
    if auto_reply_subject(subject, body):
        found.append("auto-reply-subject")
    elif auto_reply_body(body):
        found.append("auto-reply-body")
    elif _CHALLENGE_SUBJECT_RE.search(subject):
        found.append("challenge-response")
    return tuple(dict.fromkeys(found))


# challenge-response anti-spam systems asking the sender to prove they are human
_CHALLENGE_SUBJECT_RE = re.compile(
    r"(please confirm (your|that you)|confirm your (message|e-?mail|identity)|verify you are (a )?human|"
    r"message held pending|awaiting your confirmation|spam ?arrest|boxtrapper)", re.IGNORECASE)
_CHALLENGE_HEADERS = ("x-tmda-fingerprint", "x-tmda-confirm", "x-boxtrapper", "x-spamarrest-noauth",
                      "x-challenge-response", "x-mailchannels-challenge")


def synthetic_message_id(fingerprint: str) -> str:
    """A stable id for a message that has none, from its content (`content_fingerprint`), so that
    reprocessing it, or a second delivery with other trace headers, still deduplicates."""
    return f"<sha256-{fingerprint[:40]}@followup.invalid>"


def _all_values(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in msg.get_all(name) or []]
    except Exception:  # noqa: BLE001 - a broken header block still yields a message
        return []


def parse_message(raw: bytes, *, noreply_patterns: tuple[str, ...] = (),
                  own_addresses: tuple[str, ...] = ()) -> Inbound:
    """Parse raw RFC 5322 bytes; never raises for bad mail.

    `own_addresses`: our shared addresses, which a group of ours rewrites From to (`relay.find_author`).
    """
    defects: list[str] = []
    # compat32: the headers are read raw and decoded here (below), so policy.default's header
    # objects, most of the cost of parsing (3.2 ms a message against 0.4), would go unused
    within = mime_within_depth(raw)
    if len(within) < len(raw):
        defects.append("mime-too-deep")
    msg = BytesParser(policy=policy.compat32).parsebytes(within)
    defects.extend(type(d).__name__ for d in getattr(msg, "defects", [])[:20])
    headers = _raw_headers(msg)

    ids = MSGID_RE.findall(headers.get("message-id", ""))
    # RFC 2047: the address is parsed first and only the display name decoded, so an encoded
    # CR/LF or a second address inside the name can never become the sender
    from_name, from_addr = _address(headers.get("from", ""))
    if not from_addr:  # some mailers encode the whole header: decode, then parse
        from_name, from_addr = _address(decode_words(headers.get("from", "")))
    header_from = from_addr
    author = find_author(headers, _all_values(msg, "precedence"), from_name, from_addr, _address, own_addresses)
    from_name, from_addr = author.name, author.addr
    reply_to_all = _addresses(headers.get("reply-to"))
    reply_to = reply_to_all[0] if len(reply_to_all) == 1 else None
    subject = one_line(decode_words(headers.get("subject", "")), 500)
    date = None
    if "date" in headers:
        try:
            date = parsedate_to_datetime(headers["date"])
        except (TypeError, ValueError, IndexError):
            defects.append("bad-date")
    in_reply = MSGID_RE.findall(headers.get("in-reply-to", ""))
    references = tuple(MSGID_RE.findall(headers.get("references", "")))[-50:]
    token = TOKEN_RE.search(subject)
    try:
        content_type = msg.get_content_type()
    except Exception:  # noqa: BLE001
        content_type = "text/plain"
    # PostgreSQL text cannot hold NUL; nothing a person wrote needs it
    text = _body_text(msg, defects).replace("\x00", "")[:MAX_TEXT_CHARS]
    message_id = ids[0] if ids else synthetic_message_id(content_fingerprint(from_addr, date, subject, storable(text)))
    return Inbound(
        message_id=message_id,
        from_addr=from_addr,
        from_name=from_name,
        reply_to=reply_to,
        to=_addresses(headers.get("to")),
        cc=_addresses(headers.get("cc")),
        subject=subject,
        date=date,
        text=storable(text),
        new_text=storable(strip_quotes(text)),
        in_reply_to=in_reply[0] if in_reply else None,
        references=references,
        concern_token=token.group(1).upper() if token else None,
        auto_signals=auto_signals(headers, from_addr, content_type, noreply_patterns, from_name, text),
        headers=headers,
        defects=tuple(defects),
        header_from=header_from,
        relay=author.relay,
        repeated=_repeated(msg),
    )
