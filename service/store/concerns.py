"""Concerns and their history: status changes, action items, look-ups by token.

Every change is written with who or what caused it, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.core.escalation_policy import ConcernState, Item
from service.core.rules.facts import ThreadConcern
from service.core.states import ConcernStatus, JobKind
from service.errors import ConcernNotFound, PlanError
from service.store.jobs import cancel_jobs, schedule
from service.store.models import (
    Account,
    ActionItem,
    Client,
    Concern,
    ConcernEvent,
    Digest,
    EscalationRow,
    MessageRow,
)


def parse_concern_id(text: str) -> int:
    """`C-12`, `c-12`, `#C-12` or `12` -> 12; raise ConcernNotFound otherwise."""
    raw = text.strip().lstrip("#").upper().removeprefix("C-")
    if not raw.isdigit():
        raise ConcernNotFound(f"not a concern id: {text!r} (expected e.g. C-12)")
    return int(raw)


async def unresolved_of_client(session: AsyncSession, client_id: int) -> list[Concern]:
    rows = await session.scalars(select(Concern).where(Concern.client_id == client_id,
                                                       Concern.status != ConcernStatus.RESOLVED))
    return list(rows.all())


async def open_concerns_of(session: AsyncSession, emails: Collection[str]) -> dict[str, ThreadConcern]:
    """Each of these clients' latest concern not resolved yet, by client address; one query for all."""
    if not emails:
        return {}
    rows = await session.execute(
        select(Client.email, Concern.id, Concern.kind, Concern.status, Concern.acknowledged_at)
        .join(Concern, Concern.client_id == Client.id)
        .where(Client.email.in_(set(emails)), Concern.status != ConcernStatus.RESOLVED)
        .order_by(Concern.id))
    # the latest wins: rows come oldest first
    return {email: ThreadConcern(cid, email, kind, status, acknowledged is not None)
            for email, cid, kind, status, acknowledged in rows.all()}


async def inbound_counts(session: AsyncSession, concern_ids: Collection[int]) -> dict[int, int]:
    """How many messages each of these concerns has from its client; one query for all."""
    if not concern_ids:
        return {}
    rows = await session.execute(
        select(MessageRow.concern_id, func.count()).where(MessageRow.concern_id.in_(set(concern_ids)),
                                                          MessageRow.direction == "in")
        .group_by(MessageRow.concern_id))
    return {cid: n for cid, n in rows.all() if cid is not None}


async def concern_by_token(session: AsyncSession, token: str) -> Concern:
    concern = await session.get(Concern, parse_concern_id(token))
    if concern is None:
        raise ConcernNotFound(f"no concern {token}")
    return concern


async def list_concerns(session: AsyncSession, status: str | None = None) -> list[tuple[Concern, Client]]:
    query = select(Concern, Client).join(Client, Client.id == Concern.client_id).order_by(Concern.id)
    if status:
        query = query.where(Concern.status.in_(status.split(",")))
    return [(c, cl) for c, cl in (await session.execute(query)).all()]


async def record(session: AsyncSession, concern: Concern, kind: str, actor: str, now: datetime,
                 detail: str = "", to_status: str | None = None) -> None:
    """Write one history event; with `to_status`, also move the concern there."""
    session.add(ConcernEvent(**change(concern, kind, actor, now, detail, to_status)))


def change(concern: Concern, kind: str, actor: str, now: datetime, detail: str = "",
           to_status: str | None = None) -> dict[str, Any]:
    """Move the concern (with `to_status`) and return its history event's row, for the caller to write."""
    before = concern.status
    if to_status is not None:
        concern.status = to_status
    concern.updated_at = now
    return {"concern_id": concern.id, "kind": kind, "from_status": before if to_status else None,
            "to_status": to_status, "actor": actor[:320], "detail": detail[:4000], "at": now}


async def items_of(session: AsyncSession, concern_id: int) -> list[ActionItem]:
    rows = await session.scalars(select(ActionItem).where(ActionItem.concern_id == concern_id)
                                 .order_by(ActionItem.number))
    return list(rows.all())


async def add_item(session: AsyncSession, concern: Concern, text: str, owner: str, due_at: datetime,
                   actor: str, now: datetime) -> ActionItem:
    """Add a plan step; the concern becomes planned (a resolved one must be reopened first)."""
    if concern.status == ConcernStatus.RESOLVED:
        raise PlanError(f"{concern.token} is resolved; a new message from the client reopens it")
    if not text.strip():
        raise PlanError("an action item needs a text")
    if due_at <= now:
        raise PlanError(f"the due date {due_at:%Y-%m-%d %H:%M} UTC is not in the future")
    number = int(await session.scalar(select(func.count(ActionItem.id))
                                      .where(ActionItem.concern_id == concern.id)) or 0) + 1
    item = ActionItem(concern_id=concern.id, number=number, text=text.strip()[:2000], owner=owner.lower(),
                      due_at=due_at, done_at=None, created_by=actor, created_at=now)
    session.add(item)
    await session.flush()
    detail = f"#{number} {item.text} (owner {item.owner}, due {due_at:%Y-%m-%d %H:%M} UTC)"
    await record(session, concern, "plan", actor, now, detail,
                 to_status=ConcernStatus.PLANNED if concern.status != ConcernStatus.PLANNED else None)
    await schedule(session, f"{JobKind.ESCALATE}:{concern.token}", JobKind.ESCALATE, now)
    return item


async def mark_done(session: AsyncSession, concern: Concern, number: int | None, actor: str,
                    now: datetime) -> ActionItem:
    """Mark item `number` done (or the only open one when no number is given)."""
    open_items = [i for i in await items_of(session, concern.id) if i.done_at is None]
    if number is None:
        if len(open_items) != 1:
            raise PlanError(f"{concern.token} has {len(open_items)} open items: say which (e.g. done 2)")
        item = open_items[0]
    else:
        found = [i for i in open_items if i.number == number]
        if not found:
            raise PlanError(f"{concern.token} has no open item #{number}")
        item = found[0]
    item.done_at = now
    await record(session, concern, "done", actor, now, f"#{item.number} {item.text}")
    return item


async def resolve(session: AsyncSession, concern: Concern, actor: str, now: datetime, note: str = "") -> None:
    if concern.status == ConcernStatus.RESOLVED:
        raise PlanError(f"{concern.token} is already resolved")
    await record(session, concern, "resolved", actor, now, note, to_status=ConcernStatus.RESOLVED)
    await schedule(session, f"{JobKind.CLOSING}:{concern.token}", JobKind.CLOSING, now)  # tell the client what was done
    await cancel_jobs(session, f"{JobKind.CHECKIN}:{concern.token}")


async def reopen(session: AsyncSession, concern: Concern, actor: str, now: datetime, why: str) -> None:
    """A client wrote again on a resolved concern: it is open again and its deadlines restart."""
    await record(session, concern, "reopened", actor, now, why, to_status=ConcernStatus.OPEN)
    concern.created_at = now  # the escalation clock restarts from the new message
    await schedule(session, f"{JobKind.ESCALATE}:{concern.token}", JobKind.ESCALATE, now)


async def state_of(session: AsyncSession, concern: Concern, account: Account) -> ConcernState:
    items = await items_of(session, concern.id)
    return ConcernState(concern.id, concern.severity, concern.status, concern.created_at,
                        tuple(Item(i.id, i.due_at, i.done_at is not None) for i in items),
                        has_second_level=bool(account.second_level))


async def last_event_at(session: AsyncSession, concern_id: int, kinds: Sequence[str]) -> datetime | None:
    """When the concern's latest history event of one of these kinds happened."""
    return await session.scalar(select(ConcernEvent.at).where(
        ConcernEvent.concern_id == concern_id, ConcernEvent.kind.in_(kinds)).order_by(ConcernEvent.at.desc()))


async def last_event_detail(session: AsyncSession, concern_id: int, kind: str) -> str | None:
    """The detail of the concern's latest history event of this kind (the note a resolution left)."""
    return await session.scalar(select(ConcernEvent.detail).where(
        ConcernEvent.concern_id == concern_id, ConcernEvent.kind == kind).order_by(ConcernEvent.id.desc()))


async def escalation_made(session: AsyncSession, key: str) -> bool:
    """Whether the escalation with this key (concern, level, item) was made already."""
    return await session.scalar(select(EscalationRow.id).where(EscalationRow.key == key)) is not None


async def undigested_escalations(session: AsyncSession, recipient: str, *,
                                 urgent_only: bool = False) -> list[EscalationRow]:
    """The recipient's escalations not mailed yet: those waiting for their digest, and urgent ones held
    back by the alert window (`urgent_only`: those alone, for the next alert)."""
    where = [EscalationRow.recipient == recipient, EscalationRow.digest_id.is_(None)]
    if urgent_only:
        where.append(EscalationRow.urgent.is_(True))
    rows = await session.scalars(select(EscalationRow).where(*where).order_by(EscalationRow.id))
    return list(rows.all())


async def last_alert_at(session: AsyncSession, recipient: str) -> datetime | None:
    """When the recipient's last alert was written, if ever."""
    return await session.scalar(select(func.max(Digest.created_at)).where(
        Digest.recipient == recipient, Digest.kind == "alert"))


async def history_of(session: AsyncSession, concern_id: int) -> list[ConcernEvent]:
    """The concern's history events, oldest first."""
    rows = await session.scalars(select(ConcernEvent).where(ConcernEvent.concern_id == concern_id)
                                 .order_by(ConcernEvent.id))
    return list(rows.all())


async def escalations_of(session: AsyncSession, concern_id: int) -> list[EscalationRow]:
    """Every escalation made for the concern, oldest first."""
    rows = await session.scalars(select(EscalationRow).where(EscalationRow.concern_id == concern_id)
                                 .order_by(EscalationRow.id))
    return list(rows.all())
