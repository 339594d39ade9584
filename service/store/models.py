"""SQLAlchemy 2 tables: accounts, clients, concerns and their history, plans, escalations, jobs,
messages, outbox, checkpoints, quarantine, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, orm_insert_sentinel
from sqlalchemy.types import TypeDecorator

from service.clock import UTC
from service.core.mailboxes import mailbox_key, org_of
from service.core.states import JobStatus, OutboxStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON,
    }


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    domains: Mapped[list[Any]] = mapped_column(JSON, default=list)
    addresses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    staff: Mapped[list[Any]] = mapped_column(JSON, default=list)
    second_level: Mapped[str | None] = mapped_column(String(320))
    business_hours: Mapped[str] = mapped_column(String(20), default="09:00-17:00")
    business_days: Mapped[list[Any]] = mapped_column(JSON, default=list)
    digest_time: Mapped[str] = mapped_column(String(5), default="08:30")
    # the language written to clients whose own we have no templates for (ISO 639-1), and the one the
    # owner's digests are written in
    language: Mapped[str] = mapped_column(String(8), default="en")
    owner_language: Mapped[str] = mapped_column(String(8), default="en")
    # "config" accounts are rewritten from the TOML file at every start; "cli" ones are kept
    source: Mapped[str] = mapped_column(String(10), default="cli")


class Client(Base):
    __tablename__ = "clients"
    _sentinel: Mapped[int | None] = orm_insert_sentinel("sentinel")

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    # the client asked us to stop: no check-ins, reminders or closing notes, ever
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    opt_out_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # the language the client writes in (ISO 639-1): the last one identified in their mail, unless set by
    # hand (`followup clients set-language`), which the mail never overrides
    lang: Mapped[str | None] = mapped_column(String(8), default=None)
    lang_by_hand: Mapped[bool] = mapped_column(default=False)


class Concern(Base):
    __tablename__ = "concerns"
    _sentinel: Mapped[int | None] = orm_insert_sentinel("sentinel")

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float]
    subject: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    respond_by: Mapped[datetime]
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    last_checkin_at: Mapped[datetime | None] = mapped_column(default=None)
    checkins: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def token(self) -> str:
        return f"C-{self.id}"


class MessageRow(Base):
    """Every inbound and outbound message: an inbound one by its Message-ID and its content.

    Two rows may share a Message-ID: a different message that reused it is stored as the new
    message it is; the same message delivered twice is not (the unique pair below).
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("message_id", "fingerprint", name="uq_messages_message_id_fingerprint"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255))  # as its header says (ours, for outbound)
    # inbound: sha256 of its content (service.mailformat.fingerprint); None for outbound rows and for
    # those stored before migration 0008 (any message of their Message-ID is taken as the same)
    fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), default=None)
    from_addr: Mapped[str] = mapped_column(String(320))
    to_addr: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(40))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # inbound: the rules that hit and missed, {"hit": [...], "missed": [...]}; None before migration 0006
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    # inbound: when it reached our mail server (IMAP INTERNALDATE, the Maildir file's time); None if unknown
    arrived_at: Mapped[datetime | None] = mapped_column(default=None)


def _domain_of_recipient(context: Any) -> str:
    return org_of(str(context.get_current_parameters().get("to_addr") or ""))


def _mailbox_of_recipient(context: Any) -> str:
    return mailbox_key(str(context.get_current_parameters().get("to_addr") or ""))


class OutboxRow(Base):
    """A message to send, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient", "to_addr", "created_at"),
                      Index("ix_outbox_domain", "to_domain", "created_at"),
                      Index("ix_outbox_mailbox", "to_mailbox", "created_at"),
                      Index("ix_outbox_cause", "cause", "created_at"),
                      Index("ix_outbox_cause_org", "cause_org", "created_at"))
    _sentinel: Mapped[int | None] = orm_insert_sentinel("sentinel")

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concerns.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    # one acknowledgement per concern: the database refuses a second one
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(320))
    # the circuit breaker counts replies per organisational domain: an indexed column, not a LIKE scan
    # (the full domain in rows written before migration 0007)
    to_domain: Mapped[str | None] = mapped_column(String(255), default=_domain_of_recipient)
    # the sender cap counts per mailbox, however it was written (`mailboxes.mailbox_key`)
    to_mailbox: Mapped[str | None] = mapped_column(String(320), default=_mailbox_of_recipient)
    # whose message made us write it (an acknowledgement's sender, `mailboxes.ack_cause`), and their
    # organisational domain: the per-sender and per-source caps count these
    cause: Mapped[str | None] = mapped_column(String(320), default=None)
    cause_org: Mapped[str | None] = mapped_column(String(255), default=None)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # an acknowledgement: when the message it answers reached our mail server (its latency is counted from then)
    answers_arrived_at: Mapped[datetime | None] = mapped_column(default=None)


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("mailbox"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class Quarantine(Base):
    """A message that could not be processed, kept whole with the reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ConcernEvent(Base):
    """Every change to a concern: what, from which state to which, who or what caused it, when."""

    __tablename__ = "concern_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(320))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class ActionItem(Base):
    """One step of a concern's action plan: what, who, by when, done or not."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the concern
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(320))
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]


class EscalationRow(Base):
    """An escalation made; the unique key is what makes it happen once."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    concern_id: Mapped[int] = mapped_column(ForeignKey("concerns.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    reason: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool]
    item_id: Mapped[int | None] = mapped_column(ForeignKey("action_items.id"))
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"), index=True)
    created_at: Mapped[datetime]


class Digest(Base):
    """One digest (or alert) mail to an owner; escalations point at the one that carried them."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # digest or alert
    message_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Job(Base):
    """Work due at a time: claimed by one worker, rescheduled or finished by it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # escalate:C-12, digest:ana@x
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=JobStatus.PENDING)
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """One spell of trouble the operator is told about (`service.core.incident_policy`): told once, ended once.

    `open_kind` holds the kind while the incident is open and NULL after: its unique index lets only
    one incident of a kind be open, whichever worker opens it.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    open_kind: Mapped[str | None] = mapped_column(String(40), unique=True)
    since: Mapped[datetime]  # the trouble first seen
    told_at: Mapped[datetime | None]  # the operator mailed (NULL: it ended before it lasted long enough)
    ended_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text)  # the last thing that went wrong


class KeyValue(Base):
    """Small state shared by every worker (the reply-signing key when the settings give none)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Event(Base):
    """Something a client is anxious about, with a date: a move, a go-live, an audit, an installation."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(300), unique=True)  # the iCalendar UID or CSV id; re-import updates
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    checklist: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"text": ..., "done": bool}]
    status: Mapped[str] = mapped_column(String(12), default="active")  # active or cancelled
    source: Mapped[str] = mapped_column(String(20), default="cli")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def token(self) -> str:
        return f"E-{self.id}"
