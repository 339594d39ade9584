"""The kinds of automatic message and how the way out treats each. Pure, and light: the store and the
read-only commands need these names, not the composing and rendering `letters` does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    """The kinds of automatic message; the value is the outbox row's stored `purpose`."""

    ACK = "ack"
    CHECKIN = "checkin"
    CLOSING = "closing"
    REMINDER = "reminder"
    DIGEST = "digest"
    ALERT = "alert"
    CONFIRM = "confirm"
    OPTOUT_CONFIRM = "optout_confirm"
    INCIDENT = "incident"


@dataclass(frozen=True)
class Handling:
    """How the way out treats one kind of message."""

    auto_submitted: str  # RFC 3834: "auto-replied" answers a message, "auto-generated" starts one
    to_client: bool  # carries List-Unsubscribe, and counts toward the client's caps
    honours_opt_out: bool  # never written to a client who asked us to stop
    client_capped: bool  # never written past `client_cap` automatic messages in the window
    keeps_text: bool  # its text is stored with its message row (`followup show` prints it)
    # its dedupe key is looked up before it is queued; else only the outbox's unique index refuses a
    # second (an acknowledgement: its concern is new, or has none yet; a query per batch would find nothing)
    key_looked_up: bool = True


HANDLING: dict[Purpose, Handling] = {
    # an acknowledgement answers the client's own message at once, so the client cap does not hold
    # it back (the caps of triage do); an address that asked us to stop gets nothing automatic, this
    # included. Its words are the template's and the client's, stored already, so its row keeps no text
    Purpose.ACK: Handling("auto-replied", to_client=True, honours_opt_out=True, client_capped=False,
                          keeps_text=False, key_looked_up=False),
    Purpose.CHECKIN: Handling("auto-generated", to_client=True, honours_opt_out=True, client_capped=True,
                              keeps_text=True),
    Purpose.CLOSING: Handling("auto-generated", to_client=True, honours_opt_out=True, client_capped=False,
                              keeps_text=True),
    Purpose.REMINDER: Handling("auto-generated", to_client=True, honours_opt_out=True, client_capped=False,
                               keeps_text=True),
    Purpose.DIGEST: Handling("auto-generated", to_client=False, honours_opt_out=False, client_capped=False,
                             keeps_text=True),
    Purpose.ALERT: Handling("auto-generated", to_client=False, honours_opt_out=False, client_capped=False,
                            keeps_text=True),
    Purpose.CONFIRM: Handling("auto-replied", to_client=False, honours_opt_out=False, client_capped=False,
                              keeps_text=True),
    # the one message a client who asked us to stop still gets, once for each time they ask (its key
    # names the opt-out); it answers their request, so no cap holds it back
    Purpose.OPTOUT_CONFIRM: Handling("auto-replied", to_client=True, honours_opt_out=False, client_capped=False,
                                     keeps_text=True),
    # to the operator (FOLLOWUP_OPERATOR_ADDRESS): one when an incident opens and one when it ends, each
    # keyed by the incident, so the outbox's unique key refuses a second from any worker
    Purpose.INCIDENT: Handling("auto-generated", to_client=False, honours_opt_out=False, client_capped=False,
                               keeps_text=True),
}

# the messages we start to clients: what the client cap and the per-domain circuit breaker count
CLIENT_BOUND: tuple[Purpose, ...] = tuple(p for p, h in HANDLING.items() if h.to_client)
