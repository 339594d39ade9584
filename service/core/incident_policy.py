"""Operator incidents: when trouble has lasted long enough to tell someone, and when it is over. Pure.

An incident is one spell of one kind of trouble: the inbox cannot be read, mail cannot be sent, the
OAuth2 token cannot be renewed, the client secret is about to expire, mail was quarantined. The
operator gets one mail when it opens and one when it ends, never more: `decide` says which to open
and which to end, given what this worker saw (`Trouble`) and the incidents open in the database.
A kind this worker cannot see (a standby worker does not read the mailbox) is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class IncidentKind(StrEnum):
    """The kinds of trouble an operator is told about; the value is stored and shown."""

    INBOX = "inbox-unreadable"
    SENDING = "sending-failing"
    TOKEN = "token-renewal-failing"  # noqa: S105 - a kind's name, not a secret
    SECRET = "client-secret-expiring"  # noqa: S105 - a kind's name, not a secret
    QUARANTINE = "mail-quarantined"


TITLES: dict[IncidentKind, str] = {
    IncidentKind.INBOX: "the inbox cannot be read",
    IncidentKind.SENDING: "mail cannot be sent",
    IncidentKind.TOKEN: "the OAuth2 access token cannot be renewed",
    IncidentKind.SECRET: "the OAuth2 client secret expires soon",
    IncidentKind.QUARANTINE: "mail was quarantined",
}

# the operator is told this many days before the OAuth2 client secret expires (`followup check` warns too)
SECRET_WARNING_DAYS = 14

# a lost connection is retried with backoff and usually back within minutes: told only when it lasts;
# the others need a person whatever their length
WAITS_FOR_GRACE = frozenset({IncidentKind.INBOX, IncidentKind.SENDING})


@dataclass(frozen=True)
class Trouble:
    """One kind of trouble as this worker sees it now: since when, and the last thing that went wrong."""

    since: datetime
    detail: str


@dataclass(frozen=True)
class OpenIncident:
    """An incident not ended yet, as stored: told (the operator was mailed) once its trouble lasted."""

    id: int
    kind: IncidentKind
    since: datetime
    told: bool


@dataclass(frozen=True)
class Start:
    """Trouble first seen: stored at once, so its start holds across workers and `run --once` runs."""

    kind: IncidentKind
    since: datetime
    detail: str


@dataclass(frozen=True)
class Tell:
    """The trouble lasted long enough: the operator is mailed, once."""

    kind: IncidentKind


@dataclass(frozen=True)
class End:
    """The trouble is over: the incident ends, and the operator is mailed if they were told of it."""

    incident: OpenIncident


Change = Start | Tell | End


def decide_incidents(seen: Mapping[IncidentKind, Trouble | None], open_now: Mapping[IncidentKind, OpenIncident],
           now: datetime, grace: timedelta) -> list[Change]:
    """What to start, tell and end. `seen` holds only the kinds this worker can see: None means healthy."""
    changes: list[Change] = []
    for kind in IncidentKind:
        if kind not in seen:
            continue
        trouble, current = seen[kind], open_now.get(kind)
        if trouble is None:
            if current is not None:
                changes.append(End(current))
            continue
        since = trouble.since if current is None else current.since
        if current is None:
            changes.append(Start(kind, since, trouble.detail))
        wait = grace if kind in WAITS_FOR_GRACE else timedelta(0)
        if (current is None or not current.told) and now - since >= wait:
            changes.append(Tell(kind))
    return changes


ADVICE: dict[IncidentKind, str] = {
    IncidentKind.INBOX: "run `followup check`; if the login is refused, fix FOLLOWUP_IMAP_PASSWORD or the OAuth2 "
                        "settings; if the server is down, followup reconnects by itself when it is back.",
    IncidentKind.SENDING: "run `followup check`; replies wait in the outbox and go out when the SMTP server "
                          "takes them again (nothing is lost).",
    IncidentKind.TOKEN: "run `followup check` to see the provider's answer; invalid_grant: consent again and set "
                        "FOLLOWUP_OAUTH2_REFRESH_TOKEN; invalid_client: make a new client secret.",
    IncidentKind.SECRET: "make a new client secret at the provider, then set FOLLOWUP_OAUTH2_CLIENT_SECRET and "
                         "FOLLOWUP_OAUTH2_CLIENT_SECRET_EXPIRES.",
    IncidentKind.QUARANTINE: "look at `followup quarantine` (and `--show ID` for the raw message); the rest of "
                             "the mail goes on being read.",
}


def secret_trouble(expires: date | None, today: date, warn_days: int) -> Trouble | None:
    """The client secret as trouble: from `warn_days` before its expiry on; None while far off or unknown."""
    if expires is None or (expires - today).days > warn_days:
        return None
    days = (expires - today).days
    since = datetime.combine(expires - timedelta(days=warn_days), time(0), tzinfo=UTC)
    when = f"expired on {expires.isoformat()}" if days < 0 else f"expires on {expires.isoformat()} (in {days} days)"
    return Trouble(since, f"the client secret {when}: make a new one at the provider and set "
                          "FOLLOWUP_OAUTH2_CLIENT_SECRET and FOLLOWUP_OAUTH2_CLIENT_SECRET_EXPIRES")


def quarantine_trouble(count: int, first: datetime | None, last_reason: str | None,
                       window: timedelta) -> Trouble | None:
    """Messages quarantined within the last `window`, as trouble; None when there were none."""
    if count == 0 or first is None:
        return None
    minutes = int(window.total_seconds() // 60)
    return Trouble(first, f"{count} message(s) quarantined in the last {minutes} min, the last because: "
                          f"{last_reason or 'unknown'}. See `followup quarantine`.")
