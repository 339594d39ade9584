"""A batch of inbound messages being stored: what it knows, the rows it has still to write, each outcome.

A batch transaction loads what triage needs for all its messages at once (stored
and own Message-IDs, reply counts, clients) and keeps it current in memory as
`service.flows.intake` stores message after message, so that no message needs a
query of its own to be triaged; the rows nothing reads back go in by one INSERT per
table when the batch's planned concerns are written.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.adapters.inbox import RawMessage
from service.core import letters
from service.core.chain import RuleRecord
from service.core.mailboxes import Cause, ack_cause, ack_recipient, mailbox_key, org_of
from service.core.rules.facts import OwnerFacts, ThreadConcern, TriageContext
from service.core.rules.owner_authority import addressed_to_tag
from service.core.triage import Action, Decision
from service.detector.detect import Verdict
from service.flows import owner_mail
from service.mailformat.fingerprint import content_fingerprint
from service.mailformat.parse import Inbound
from service.settings import Settings
from service.store import clients, concerns, messages, outbox
from service.store.db import AsyncSession
from service.store.models import Account, Client, Concern

log = logging.getLogger("followup.message")


@dataclass(frozen=True)
class Outcome:
    """What became of one inbound message."""

    message_id: str
    decision: Action
    concern: str | None = None
    reasons: tuple[str, ...] = ()
    outbox_ids: tuple[int, ...] = ()
    label: str | None = None
    summary: str = ""  # triage's one-line account of its decision
    source: str = ""  # where a quarantined message came from


@dataclass
class BatchRows:
    """Rows nothing reads back by id before the transaction ends, written by one INSERT per table.

    Built as plain values, not ORM objects: making, adding and flushing an object per row
    was a sixth of storing a batch (cProfile, bench/pipeline_only.py).
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def write(self, session: AsyncSession) -> None:
        """INSERT the rows, one statement per table, and start again empty."""
        await messages.insert_rows(session, events=self.events, jobs=self.jobs, messages=self.messages)
        self.events, self.jobs, self.messages = [], [], []

    async def write_messages(self, session: AsyncSession) -> None:
        """Only the message rows: inbound mail's go in before the replies to it, which `followup show`
        lists after it (in the order written)."""
        await messages.insert_rows(session, messages=self.messages)
        self.messages = []


@dataclass
class PlannedConcern:
    """A new concern decided on, whose rows are written with the rest of its run (`Pipeline._write`)."""

    msg: Inbound
    verdict: Verdict
    decision: Decision
    raw: RawMessage
    account: Account
    client: Client
    outcome: Outcome | None = None


@dataclass
class BatchState:
    """What a batch transaction knows beyond its queries: rows it has written or is about to.

    Loaded with one query per kind for the whole batch, then kept up to date by the
    pipeline as it goes, so that no message needs a query of its own to be triaged.
    """

    # Message-IDs stored, before or in this batch, with the content fingerprints stored under each
    # (None: a row from before they were kept, which any message of its Message-ID matches)
    stored: dict[str, set[str | None]]
    ours: set[str]  # Message-IDs of messages we wrote (a loop back to us)
    replies: Counter[str]  # automatic messages queued per mailbox (`mailbox_key`) in the window, this batch's too
    domain_replies: Counter[str]  # the same per organisational domain, for the circuit breaker
    clients: dict[str, Client]  # the senders' clients, new ones included
    sender_acks: Counter[str] = field(default_factory=Counter)  # acknowledgements per sender (`ack_cause`)
    source_acks: Counter[str] = field(default_factory=Counter)  # the same per sender's organisational domain
    # each sender's latest concern not resolved, those this batch writes included (`joins-open-concern`)
    open_concerns: dict[str, ThreadConcern] = field(default_factory=dict)
    pending: list[PlannedConcern] = field(default_factory=list)
    # rows written with the planned concerns, among them the inbound rows of messages that made
    # no concern: one INSERT for all, where SQLite would otherwise take one per message (autoflush)
    rows: BatchRows = field(default_factory=BatchRows)
    unwritten: set[str] = field(default_factory=set)  # Message-IDs of planned concerns and of `rows`
    # rows the batch read, held so that the session's identity map (weak references) keeps them: a
    # flood's every message would otherwise load its concern and account again (cProfile, pipeline_only)
    held: dict[tuple[type, int], object] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, msgs: Sequence[Inbound], settings: Settings,
                   now: datetime) -> BatchState:
        """What the store knows of these messages' Message-IDs, senders and reply counts."""
        ids = [m.message_id for m in msgs]
        s = settings
        recipients = {ack_recipient(m) for m in msgs}
        domains = {org_of(a) for a in recipients} if s.domain_reply_cap else set()
        causes = [ack_cause(m, s.shared_address) for m in msgs]
        senders = {c.sender for c in causes} if s.sender_ack_cap else set()
        sources = {c.source for c in causes if c.source} if s.source_ack_cap else set()
        return cls(
            await messages.stored_fingerprints(session, ids),
            await messages.our_message_ids(session, ids),
            Counter(await outbox.auto_replies_since(
                session, {mailbox_key(a) for a in recipients}, now - timedelta(hours=s.auto_reply_window_h))),
            Counter(await outbox.auto_replies_to_domains_since(
                session, domains, now - timedelta(hours=s.domain_reply_window_h))),
            await clients.clients_by_email(session, {m.from_addr for m in msgs}),
            Counter(await outbox.acks_caused_since(
                session, senders, now - timedelta(hours=s.sender_ack_window_h))),
            Counter(await outbox.acks_from_sources_since(
                session, sources, now - timedelta(hours=s.source_ack_window_h))),
            await concerns.open_concerns_of(session, {m.from_addr for m in msgs}),
        )

    def seen(self, msg: Inbound) -> tuple[bool, bool]:
        """Whether this message is stored (its Message-ID and its content), and whether its Message-ID is."""
        found = self.stored.get(msg.message_id)
        if found is None:
            return False, False
        return None in found or fingerprint_of(msg) in found, True

    def remember(self, msg: Inbound) -> None:
        """`msg` is stored in this batch: a second delivery of it later in the batch is a duplicate."""
        self.stored.setdefault(msg.message_id, set()).add(fingerprint_of(msg))

    def count_reply(self, address: str, purpose: letters.Purpose, n: int = 1, cause: Cause | None = None) -> None:
        """A message to `address` is queued (n=-1: was expected, and is not after all); `cause`: the sender
        and source whose message it answers (`ack_cause`), for an acknowledgement."""
        self.replies[mailbox_key(address)] += n
        if purpose in letters.CLIENT_BOUND:
            self.domain_replies[org_of(address)] += n
        if cause is not None:
            self.sender_acks[cause.sender] += n
            self.source_acks[cause.source] += n

    def count_ack(self, msg: Inbound, settings: Settings, n: int = 1) -> None:
        """The acknowledgement of `msg` is queued (n=-1: was expected, and is not after all)."""
        self.count_reply(ack_recipient(msg), letters.Purpose.ACK, n, cause=ack_cause(msg, settings.shared_address))

    def caps_of(self, msg: Inbound, settings: Settings, now: datetime) -> dict[str, Any]:
        """What the caps on acknowledging `msg` read (`TriageContext`'s counts, caps and `known_client`)."""
        s = settings
        recipient, cause = ack_recipient(msg), ack_cause(msg, s.shared_address)
        # known: the author's client row predates every window the caps strangers trip count in (they
        # wrote, or an event named them, before then)
        client = self.clients.get(msg.from_addr)
        since = now - timedelta(hours=max(s.domain_reply_window_h, s.sender_ack_window_h, s.source_ack_window_h))
        return dict(
            recent_auto_replies=self.replies[mailbox_key(recipient)], auto_reply_cap=s.auto_reply_cap,
            recent_domain_replies=self.domain_replies[org_of(recipient)] if s.domain_reply_cap else 0,
            domain_reply_cap=s.domain_reply_cap,
            sender_acks=self.sender_acks[cause.sender], sender_ack_cap=s.sender_ack_cap,
            source_acks=self.source_acks[cause.source] if cause.source else 0, source_ack_cap=s.source_ack_cap,
            known_client=client is not None and client.created_at < since)

    def answers_pending(self, msg: Inbound) -> bool:
        """Whether `msg` replies to a message whose rows are not written yet, or its sender has a concern
        planned and not written yet (which it joins: the concern needs its id)."""
        return not self.unwritten.isdisjoint(msg.thread_ids) or any(p.client.email == msg.from_addr
                                                                    for p in self.pending)

    def hold(self, *rows: Account | Concern) -> None:
        """Keep these rows loaded for the rest of the batch's transaction."""
        for row in rows:
            self.held[(type(row), row.id)] = row

    def opened(self, concern: Concern, email: str) -> None:
        """`concern` of the client at `email` is written: their next message joins it."""
        self.open_concerns[email] = ThreadConcern(concern.id, email, concern.kind, concern.status,
                                                  concern.acknowledged_at is not None)


async def triage_context(session: AsyncSession, msg: Inbound, batch: BatchState, settings: Settings,
                         now: datetime) -> TriageContext:
    """What the rules read beyond the message: the batch's counts, its thread, an owner's authority."""
    s = settings
    stored, id_seen = batch.seen(msg)  # stored: `duplicate` ends the chain, nothing more is read
    sender = batch.clients.get(msg.from_addr)
    return TriageContext(
        shared_address=s.shared_address,
        own_message_ids=frozenset([msg.message_id] if msg.message_id in batch.ours else []),
        thread_concern=None if stored else await messages.thread_concern(session, msg.concern_token,
                                                                         msg.thread_ids, msg.from_addr),
        **batch.caps_of(msg, s, now),
        stored=stored,
        message_id_seen=id_seen,
        sender_opted_out=sender is not None and sender.opted_out_at is not None,
        open_concern=batch.open_concerns.get(msg.from_addr),
        owner=await owner_mail.authority(session, msg, s) if not stored and addressed_to_tag(msg) else OwnerFacts(),
    )


def inbound_row(msg: Inbound, raw: RawMessage, now: datetime, keep_bytes: int, *, decision: str,
                reasons: Sequence[str], rules: RuleRecord, concern_id: int | None = None, client_id: int | None = None,
                event_id: int | None = None, verdict: dict[str, Any] | None = None) -> dict[str, Any]:
    """An inbound message's row, with what was decided about it and why (its raw bytes up to `keep_bytes`)."""
    return dict(
        message_id=msg.message_id, fingerprint=fingerprint_of(msg), direction="in", concern_id=concern_id,
        client_id=client_id, event_id=event_id, from_addr=msg.from_addr[:320], to_addr=",".join(msg.to)[:320],
        subject=msg.subject[:500], text=msg.new_text[:20000], decision=decision, reasons=list(reasons),
        rules=rules.as_json(), verdict=verdict or {}, raw=raw.data if len(raw.data) <= keep_bytes else None,
        created_at=now, arrived_at=raw.arrived_at,
    )


def fingerprint_of(msg: Inbound) -> str:
    """The message's content fingerprint, stored with its row (`service.mailformat.fingerprint`)."""
    return content_fingerprint(msg.from_addr, msg.date, msg.subject, msg.text)


def outcome_of(result: Outcome | PlannedConcern) -> Outcome:
    """The outcome of a message, once its rows are written."""
    if isinstance(result, Outcome):
        return result
    assert result.outcome is not None, "a planned concern is written before its transaction commits"
    return result.outcome


class StoreApart(Exception):
    """A message in the batch failed: store the batch again one message per transaction."""


def log_outcome(outcome: Outcome) -> None:
    """One line per message, once its rows are committed."""
    if outcome.decision == Action.QUARANTINED:
        log.error("quarantined", extra={"message_id": outcome.message_id, "source": outcome.source,
                                        "reason": outcome.reasons[0] if outcome.reasons else ""})
    elif outcome.summary:
        log.info("%s", outcome.summary, extra={
            "message_id": outcome.message_id, "concern": outcome.concern, "decision": outcome.decision,
            "reasons": list(outcome.reasons), "label": outcome.label})
