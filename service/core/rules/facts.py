"""What the inbound rules read: the message, its verdict, and what the store knows, as plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: the store reads `ThreadConcern` without loading the detector (numpy)
    from service.detector.detect import Verdict
    from service.mailformat.parse import Inbound


@dataclass(frozen=True)
class ThreadConcern:
    """The concern an inbound message threads onto, as the store knows it."""

    id: int
    client_email: str
    kind: str
    status: str
    acknowledged: bool


@dataclass(frozen=True)
class Team:
    """Who may give orders on an account's concerns, and the account's time zone."""

    owner_email: str | None
    second_level: str | None
    staff: tuple[str, ...]
    timezone: str
    language: str = "en"  # the owner's (`Account.owner_language`): what their confirmations are written in


@dataclass(frozen=True)
class OwnerFacts:
    """What the owner-authority rules need from the store.

    Gathered only for mail to a reply tag (`owner_authority.addressed_to_tag`): for the rest the
    rule that asks that misses and no other owner rule is asked, so these empty defaults stand.
    """

    key: bytes = b""  # the signing key of reply tags
    clients: frozenset[int] = frozenset()  # ids of the clients the message's unsubscribe tags name, that exist
    digest_recipients: Mapping[str, str] = field(default_factory=dict)  # digest tag ref -> its recipient
    teams: tuple[Team, ...] = ()  # every account's
    # whose Authentication-Results are read (the operator's receiving server); (): the topmost header only
    authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TriageContext:
    """What triage needs from history; gathered by the flow, passed in."""

    shared_address: str
    own_message_ids: frozenset[str]
    thread_concern: ThreadConcern | None
    recent_auto_replies: int  # to the mailbox to acknowledge (`mailboxes.mailbox_key`) in the window
    auto_reply_cap: int
    # the circuit breaker: automatic replies to the whole organisational domain to acknowledge in the window
    recent_domain_replies: int = 0
    domain_reply_cap: int = 0  # 0: no breaker
    # acknowledgements the sender (`mailboxes.ack_cause`), and its organisational domain, caused in the window
    sender_acks: int = 0
    sender_ack_cap: int = 0  # 0: no cap
    source_acks: int = 0
    source_ack_cap: int = 0  # 0: no cap
    # the author was our client before the windows began: the caps strangers trip do not silence them
    known_client: bool = False
    stored: bool = False  # this message is stored already: its Message-ID and its content
    message_id_seen: bool = False  # a message of this Message-ID is stored, whatever its content
    sender_opted_out: bool = False  # the sender is a client who asked us to stop
    # the sender's latest concern not resolved yet, filed before this message or planned in its batch:
    # a new message of theirs joins it rather than filing another (one concern per flood)
    open_concern: ThreadConcern | None = None
    owner: OwnerFacts = field(default_factory=OwnerFacts)


@dataclass(frozen=True)
class InboundFacts:
    """Everything an inbound rule may read."""

    msg: Inbound
    verdict: Verdict
    ctx: TriageContext
