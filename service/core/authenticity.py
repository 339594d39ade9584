"""Who wrote a message, read the way DMARC reads it, and what the receiving server found. Pure.

Owners' commands change concerns, so their author is read strictly:

- `author`: the From header as DMARC reads it (RFC 7489 6.6.1): exactly one From header
  holding exactly one address. Refused besides: a display name or comment holding an
  address other than that one ("owner@acme.example" <attacker@evil.example>, a mail
  program shows the name), and a From whose only address is inside an encoded word (DMARC
  finds no domain there; a reader that decodes it finds one). X-Original-From, Sender and
  Reply-To are never read: they are the sender's to write.
- `authentication_failed`: the Authentication-Results (RFC 8601) that the operator's own
  receiving server added, parsed by `authres`. With `authserv_ids` set, only headers naming
  one of them are read; unset, only the topmost one (a receiving server adds its own above
  every header the message came with). A DMARC failure refuses, whatever else passed and
  whatever domain it names; a DMARC pass counts only for the From domain; with no DMARC
  verdict, a DKIM or SPF failure refuses unless a DKIM or SPF pass is aligned with the From
  domain. Words in comments and in property values (`smtp.mailfrom="dkim=pass"@x`) are
  never results.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import HeaderRegistry
from email.utils import getaddresses
from functools import lru_cache

import authres

from service.core.mailboxes import org_domain
from service.mailformat.parse import decode_words

_FROM_MAX = 2000  # longer than any From a person's mail program writes; parsed no further
_REGISTRY = HeaderRegistry()
_TOKEN_SPLIT_RE = re.compile(r"[\s<>\"(),;:\[\]]+")
_RESINFO_RE = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)
_FAILED = frozenset({"fail", "softfail", "permerror"})


@dataclass(frozen=True)
class DmarcAuthor:
    """The From header's one address as DMARC reads it, or why there is none to read."""

    address: str  # lower case; "" when refused
    problem: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@lru_cache(maxsize=256)  # asked by several rules of one message
def author(from_values: tuple[str, ...]) -> DmarcAuthor:
    """The author of a message from every From header it has (top first), read the way DMARC reads it."""
    if len(from_values) != 1:
        return DmarcAuthor("", f"{len(from_values)} From headers")
    raw = from_values[0]
    if len(raw) > _FROM_MAX:
        return DmarcAuthor("", "a From header too long to read")
    try:
        pairs = [(name, addr) for name, addr in getaddresses([raw]) if addr]
    except RecursionError:  # the stdlib nests a group per ":", and a hostile From has a thousand
        return DmarcAuthor("", "a From header too deeply nested to read")
    if len(pairs) != 1:
        return DmarcAuthor("", f"{len(pairs)} addresses in From")
    address = pairs[0][1].strip().lower()
    local, at, domain = address.partition("@")
    if not (local and at and domain) or "@" in domain or "=?" in address or any(c.isspace() for c in address):
        return DmarcAuthor("", "no plain address in From (one encoded word?)")
    try:
        parsed = [a.addr_spec.lower() for a in getattr(_REGISTRY("from", raw), "addresses", ())]
    except Exception:  # noqa: BLE001 - the stdlib's strict parser on hostile input
        parsed = []
    if parsed != [address]:
        return DmarcAuthor("", "From reads as another address to a strict parser")
    if _other_address(decode_words(raw), address):
        return DmarcAuthor("", "an address in From's display name")
    return DmarcAuthor(address)


def _other_address(text: str, address: str) -> bool:
    """Whether `text` holds something shaped like an address besides `address` (compatibility forms
    folded: a full-width ＠ is an @ to the eye)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    for token in _TOKEN_SPLIT_RE.split(folded):
        local, at, domain = token.strip(".").partition("@")
        if at and local and domain and token.strip(".") != address:
            return True
    return False


# -- Authentication-Results ----------------------------------------------------------------------

@dataclass(frozen=True)
class AuthResult:
    """One method's result in an Authentication-Results header, with its properties ("header.d": ...)."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def domain(self) -> str | None:
        """The domain the result is about: DKIM's signing domain, SPF's MAIL FROM, DMARC's From domain."""
        for key in ("header.d", "header.i", "smtp.mailfrom", "header.from"):
            if value := self.properties.get(key):
                return value.rpartition("@")[2].strip(".").lower() or None
        return None


def read_header(value: str) -> tuple[str, list[AuthResult]]:
    """The authserv-id and results of one Authentication-Results header; never raises.

    `authres` reads the header; where it cannot (a missing authserv-id, as Microsoft 365 writes
    it; a vendor's odd result), each result is read alone, and one it still cannot read gives its
    method and result only, comments left out.
    """
    text = value.strip().rstrip(";").strip()
    try:
        header = authres.AuthenticationResultsHeader.parse_value(text)
        return str(header.authserv_id).lower(), [_result(r) for r in header.results]
    except Exception:  # noqa: BLE001, S110 - read piece by piece below
        pass
    pieces = _split(text)
    if not pieces:
        return "", []
    if _RESINFO_RE.match(_uncommented(pieces[0])):
        authserv_id, resinfos = "", pieces
    else:
        words = _uncommented(pieces[0]).split()
        authserv_id, resinfos = (words[0].lower() if words else ""), pieces[1:]
    results: list[AuthResult] = []
    for piece in resinfos:
        try:
            results.extend(_result(r) for r in authres.AuthenticationResultsHeader.parse_value(f"x; {piece}").results)
        except Exception:  # noqa: BLE001 - the method and result alone
            if found := _RESINFO_RE.match(_uncommented(piece)):
                results.append(AuthResult(found.group(1).lower(), found.group(2).lower()))
    return authserv_id, results


def _result(r: object) -> AuthResult:
    props = {f"{p.type}.{p.name}".lower(): str(p.value).lower()
             for p in getattr(r, "properties", ()) if p.type and p.name and p.value is not None}
    return AuthResult(str(getattr(r, "method", "")).lower(), str(getattr(r, "result", "")).lower(), props)


def _split(text: str) -> list[str]:
    """`text` cut at each ';' outside comments and quoted strings."""
    pieces, start, depth, quoted, escaped = [], 0, 0, False, False
    for k, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif quoted:
            quoted = c != '"'
        elif c == '"':
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif c == ";" and depth == 0:
            pieces.append(text[start:k])
            start = k + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def _uncommented(text: str) -> str:
    """`text` without its (nested) comments."""
    out, depth = [], 0
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
    return "".join(out)


def trusted_results(values: Sequence[str], authserv_ids: Sequence[str] = ()) -> list[AuthResult]:
    """The results of the headers the operator's receiving server added: those naming one of
    `authserv_ids`, or, with none given, the topmost header's."""
    ids = {i.lower() for i in authserv_ids}
    results: list[AuthResult] = []
    for value in values if ids else values[:1]:
        authserv_id, found = read_header(value)
        if not ids or authserv_id in ids:
            results.extend(found)
    return results


def _aligned(domain: str | None, from_domain: str) -> bool:
    """DMARC's relaxed alignment: the same organisational domain (the public suffix list's).
    A pass that names no domain was the receiving server's own judgement of this message."""
    if domain is None:
        return True
    return bool(from_domain) and org_domain(domain) == org_domain(from_domain)


def authentication_failed(values: Sequence[str], from_domain: str, authserv_ids: Sequence[str] = ()) -> bool:
    """Whether the receiving server's Authentication-Results refuse a message from `from_domain`."""
    results = trusted_results(values, authserv_ids)
    dmarc = [r for r in results if r.method == "dmarc"]
    if any(r.result == "fail" for r in dmarc):
        return True
    if any(r.result == "pass" and r.domain in (None, from_domain) for r in dmarc):
        return False
    others = [r for r in results if r.method in ("dkim", "spf")]
    if any(r.result == "pass" and _aligned(r.domain, from_domain) for r in others):
        return False
    return any(r.result in _FAILED for r in others)
