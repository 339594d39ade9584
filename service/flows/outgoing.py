"""The one way out: every automatic message is queued here, its outbox row and message row together.

A flow builds a request (`service.core.letters`); `queue` loads what the gate needs, lets
`letters.gate` decide (dedupe key, the client's opt-out, the client cap: each where its kind
honours it), composes what may go unless that was done already (a batch of acknowledgements, in
the prepare process), and writes the rows (`service.store.outbox.add_letters`). The caps on
answering inbound mail (per sender, per domain) are triage's rules: they decide whether a reply
is requested at all, and are recorded with the inbound message.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.core.letters import (
    HANDLING,
    UNSENDABLE,
    Composed,
    LetterRequest,
    Purpose,
    Refusal,
    Sender,
    compose_letters,
    gate,
    reply_language,
    unsubscribe_mailto,
)
from service.core.owner_commands import signed_address
from service.mailformat.render import languages
from service.settings import Settings
from service.store import clients, outbox
from service.store.db import AsyncSession
from service.store.models import Account, Client, KeyValue

log = logging.getLogger("followup.outgoing")


@dataclass(frozen=True)
class Queued:
    """A message written to the outbox."""

    id: int  # its outbox row's
    message_id: str
    to_addr: str
    purpose: Purpose


def sender_of(settings: Settings) -> Sender:
    """Who writes the automatic messages, by the settings."""
    return Sender(settings.shared_address, settings.shared_name, settings.shared_domain, settings.templates_dir)


def client_language(settings: Settings, client: Client, account: Account | None) -> str:
    """The language we write to `client` in: theirs, else their account's default, where there are
    templates for it (`letters.reply_language`)."""
    return reply_language(client.lang, account.language if account else settings.default_language,
                          languages(settings.templates_dir))


async def signing_key(session: AsyncSession, settings: Settings) -> bytes:
    """The settings' key, else one made once and kept in the database for every worker."""
    if settings.signing_key is not None:
        return settings.signing_key.get_secret_value().encode()
    row = await session.get(KeyValue, "signing_key")
    if row is None:
        row = KeyValue(key="signing_key", value=secrets.token_hex(32))
        session.add(row)
        await session.flush()
    return row.value.encode()


def client_unsubscribe_address(settings: Settings, key: bytes, client: Client) -> str:
    """The client's List-Unsubscribe mailto: an address signed for them, which opts them out when mailed."""
    return unsubscribe_mailto(signed_address(settings.shared_address, key, client.email, f"u{client.id}"))


async def queue(session: AsyncSession, requests: Sequence[LetterRequest], settings: Settings, now: datetime, *,
                composed: Sequence[Composed | Refusal] | None = None) -> list[Queued | Refusal]:
    """Queue each request that the gate lets through; for each, what was queued or why not.

    `composed`: the requests already rendered and composed, in the same order (`letters.compose_letters`,
    perhaps in the prepare process); without it they are composed here, once they pass the gate.
    """
    # the gate reads outbox rows, never pending (they are written at once), and clients by id: the
    # session's pending changes are flushed once, with the caller's, not a step early for it
    with session.no_autoflush:
        verdicts = await _gate(session, requests, settings)
    results: dict[int, Queued | Refusal] = {k: v for k, v in enumerate(verdicts) if v is not None}
    passed = [k for k, v in enumerate(verdicts) if v is None]
    made = ([composed[k] for k in passed] if composed is not None
            else compose_letters([requests[k] for k in passed]))
    writing: list[tuple[int, Composed]] = []
    for k, out in zip(passed, made, strict=True):
        if isinstance(out, Refusal):
            results[k] = out
        else:
            writing.append((k, out))
    ids = await outbox.add_letters(session, [(requests[k], out) for k, out in writing], now)
    for (k, out), row_id in zip(writing, ids, strict=True):
        results[k] = Queued(row_id, out.message_id, out.to_addr, requests[k].purpose)
    for k, result in results.items():
        if isinstance(result, Refusal):
            req = requests[k]
            # a message that cannot be addressed is worth a look; the other refusals are the rules at work
            level = logging.WARNING if result.reason.startswith(UNSENDABLE) else logging.DEBUG
            log.log(level, "no %s: %s", req.purpose.value, result.reason, extra={
                "message_id": req.in_reply_to, "concern": req.concern, "key": req.dedupe_key})
    return [results[k] for k in range(len(requests))]


async def _gate(session: AsyncSession, requests: Sequence[LetterRequest], settings: Settings) -> list[Refusal | None]:
    """What the gate says of each request: one query for the keys of the kinds that look theirs up, and
    only the queries its kind needs beyond that; a request sees those of the batch before it as queued."""
    queued = await outbox.queued_keys(session, {r.dedupe_key for r in requests if HANDLING[r.purpose].key_looked_up})
    started: dict[str, list[datetime]] = {}  # what this batch lets through to each client
    window = timedelta(days=settings.client_cap_window_days)
    out: list[Refusal | None] = []
    for req in requests:
        handling = HANDLING[req.purpose]
        address = req.to_addr.lower()
        opted_out = handling.honours_opt_out and await _opted_out(session, req)
        recent: list[datetime] = []
        if handling.client_capped:
            recent = [*await outbox.automatic_sent_since(session, address, req.now - window),
                      *started.get(address, ())]
        verdict = gate(req, queued_before=req.dedupe_key in queued, opted_out=opted_out, recent=recent,
                       cap=settings.client_cap, window=window)
        if verdict is None:
            queued.add(req.dedupe_key)
            if handling.to_client:
                started.setdefault(address, []).append(req.now)
        out.append(verdict)
    return out


async def _opted_out(session: AsyncSession, req: LetterRequest) -> bool:
    """Whether the client the request is about, or the address it goes to, asked us to stop."""
    address = req.to_addr.lower()
    if req.links.client_id is not None:
        client = await session.get(Client, req.links.client_id)
        if client is not None and (client.opted_out_at is not None or client.email == address):
            return client.opted_out_at is not None
    return await clients.opted_out(session, address)
