"""What an owner reads: the digest (or alert) of escalated concerns, and the answer to their plan. Pure.

Everything a client wrote reaches the owner as one plain line (`shown`): no line break of any
kind (a subject holding U+2028 and "C-2 resolved" would otherwise be a line of its own when the
owner answers inline), no bidirectional control, and no name that looks like an address
(`client_label`: a client calling themself "owner@acme.example" is shown by their address only).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from service.core.businesstime import BusinessHours
from service.mailformat.locale_dates import day_with_year, waited
from service.mailformat.plain import one_line


@dataclass(frozen=True)
class Entry:
    """One escalated concern as the owner sees it."""

    token: str
    account: str
    client: str
    kind: str
    severity: str
    status: str
    level: int
    created_at: datetime
    subject: str
    words: tuple[str, ...]  # the client's own sentences (escaped by the HTML template)
    missing: tuple[str, ...]  # why it is here: no plan, overdue items
    items: tuple[str, ...] = ()
    why: tuple[str, ...] = ()  # `missing` as codes (`escalation_policy.reason_code`), for other languages
    messages: int = 1  # the client's messages in it: those that joined it while it was open, and the first


def shown(value: str, limit: int = 500) -> str:
    """A client's words as one plain line for an owner to read."""
    return " ".join(one_line(value, 4 * limit).split())[:limit]


def looks_like_address(name: str) -> bool:
    """Whether a display name holds an address or an address's brackets (compatibility forms folded)."""
    folded = unicodedata.normalize("NFKC", name)
    return "@" in folded or "<" in folded or ">" in folded


def client_label(name: str, email: str) -> str:
    """How a client is named to an owner: "Name <address>", or the address alone when the name is
    empty or itself looks like an address."""
    name = shown(name, 200)
    if not name or looks_like_address(name):
        return shown(email, 320)
    return f"{name} <{shown(email, 320)}>"


def age(created: datetime, now: datetime, lang: str = "en") -> str:
    """'3 days', '5 Stunden', '20 minutes': how long the client has waited, in the owner's language."""
    return waited(now - created, lang)


def digest_context(owner: str, entries: list[Entry], now: datetime, *, alert: bool,
                   team_name: str, hours: BusinessHours, lang: str = "en") -> dict[str, Any]:
    """Template context in the owner's language `lang`: concerns grouped by account, worst first (level,
    severity, age); the clients' words as they wrote them."""
    ordered = sorted(entries, key=lambda e: (-e.level, e.severity != "high", e.created_at))
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in ordered:
        groups.setdefault(e.account, []).append({
            "token": e.token, "client": shown(e.client), "kind": e.kind, "severity": e.severity,
            "status": e.status, "level": e.level, "age": age(e.created_at, now, lang), "subject": shown(e.subject),
            "words": [shown(w, 1000) for w in e.words], "missing": [shown(m) for m in e.missing],
            "reasons": [{"code": code, "text": shown(m)} for code, m in zip(e.why, e.missing, strict=False)],
            "plan": [shown(i, 1000) for i in e.items], "messages": e.messages,
        })
    example = ordered[0].token if ordered else "C-1"
    return {
        "owner": owner, "alert": alert, "team_name": team_name, "count": len(ordered), "lang": lang,
        "groups": [{"account": shown(name), "concerns": rows} for name, rows in groups.items()],
        "example": example, "date": day_with_year(now, hours.tz, lang),
    }


def digest_subject(context: dict[str, Any], templates_dir: Path | None = None) -> str:
    """The digest's (or alert's) subject, from the `subject_digest` template of the owner's language."""
    from service.mailformat.render import render_line  # Jinja2: not for the listings that read this module

    return render_line("subject_digest", context, templates_dir)
