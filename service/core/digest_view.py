"""What an owner reads: the digest (or alert) of escalated concerns, and the answer to their plan. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.core.businesstime import BusinessHours


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


def age(created: datetime, now: datetime) -> str:
    """'3 days', '5 hours', '20 minutes': how long the client has waited."""
    minutes = max(0, int((now - created).total_seconds() // 60))
    if minutes >= 2 * 24 * 60:
        return f"{minutes // (24 * 60)} days"
    if minutes >= 120:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def digest_context(owner: str, entries: list[Entry], now: datetime, *, alert: bool,
                   team_name: str, hours: BusinessHours) -> dict[str, Any]:
    """Template context: concerns grouped by account, worst first (level, severity, age)."""
    ordered = sorted(entries, key=lambda e: (-e.level, e.severity != "high", e.created_at))
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in ordered:
        groups.setdefault(e.account, []).append({
            "token": e.token, "client": e.client, "kind": e.kind, "severity": e.severity,
            "status": e.status, "level": e.level, "age": age(e.created_at, now), "subject": e.subject,
            "words": list(e.words), "missing": list(e.missing), "plan": list(e.items),
        })
    example = ordered[0].token if ordered else "C-1"
    local = now.astimezone(hours.tz)
    return {
        "owner": owner, "alert": alert, "team_name": team_name, "count": len(ordered),
        "groups": [{"account": name, "concerns": rows} for name, rows in groups.items()],
        "example": example, "date": local.strftime("%A %d %B %Y"),
    }


def digest_subject(context: dict[str, Any]) -> str:
    n = context["count"]
    noun = "concern needs" if n == 1 else "concerns need"
    if context["alert"]:
        return f"Urgent: {n} {noun} an action plan now"
    return f"Digest {context['date']}: {n} {noun} an action plan"
