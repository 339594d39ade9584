"""Inbound messages to rows: message row, concern change, outbox rows, all or nothing.

A fetched batch is stored in one transaction (a commit per message was most of
the cost of storing); if any message in it fails, the batch is rolled back and
stored again one transaction per message, so that message alone is quarantined.
Within it, what triage needs to know (reply counts, clients, stored Message-IDs)
is loaded once for the batch and kept current in memory (`intake_batch`), and new
concerns are planned as messages are read and written together, a few INSERTs for all.

For each message this module gathers what the rules read, the chain of rules
(`service.core.triage`) decides and records which rules hit and which missed, and
the decision is written down with that record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from service.adapters.inbox import RawMessage
from service.core import letters
from service.core.chain import RuleRecord
from service.core.escalation_policy import ConcernState, deadlines
from service.core.mailboxes import ack_recipient, org_of
from service.core.rules.facts import OwnerFacts
from service.core.rules.owner_authority import unsubscribe_client
from service.core.states import ConcernStatus, JobKind
from service.core.triage import JOINED, Action, Decision, triage
from service.detector.detect import Verdict
from service.flows import account_setup, checkins, client_replies, opt_outs, outgoing, owner_mail
from service.flows.escalations import escalation_policy_of
from service.flows.intake_batch import (
    BatchRows,
    BatchState,
    Outcome,
    PlannedConcern,
    StoreApart,
    inbound_row,
    log_outcome,
    outcome_of,
    triage_context,
)
from service.flows.prepared import BatchPreparer, Prepared, Unprepared, reason
from service.mailformat.locale_dates import moment
from service.mailformat.parse import Inbound
from service.settings import Settings
from service.store import accounts, clients, concerns, jobs, messages
from service.store.db import AsyncSession, IntegrityError, async_sessionmaker, transaction
from service.store.models import Account, Client, Concern, Quarantine
from service.store.outage import is_infrastructure_error

log = logging.getLogger("followup.message")


class Pipeline:
    """Holds what every message needs (settings, sessions) so nothing is set up per message."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession],
                 preparer: BatchPreparer, *, compose_apart: bool = False) -> None:
        """`preparer` (the runtime's `Preparer`) parses and scores batches not prepared by the
        caller; with `compose_apart`, it also composes acknowledgements."""
        self.settings = settings
        self.sessions = sessions
        self.preparer = preparer
        self.compose_apart = compose_apart
        self._accounts = account_setup.AccountRouter(settings)

    async def _compose(self, requests: list[letters.LetterRequest]) -> list[letters.Composed | letters.Refusal]:
        if self.compose_apart and requests:
            return await self.preparer.compose(requests)
        return letters.compose_letters(requests)

    async def handle_batch(self, raws: Sequence[RawMessage], now: datetime,
                           prepared: Sequence[Prepared] | None = None) -> list[Outcome]:
        """Process messages; quarantine any that cannot be processed, with the reason.

        `prepared` is the batch already parsed and scored (`service.runtime.prepare`); without it, that is
        done here. Database outages are raised, not quarantined: the caller retries the messages
        later. Outcomes are logged once their rows are committed.
        """
        ready = prepared if prepared is not None else await self.preparer.submit([r.data for r in raws])
        work = [(raw, p.message, p.verdict) for raw, p in zip(raws, ready, strict=True)]
        try:
            outcomes = await self._store_together(work, now)
        except StoreApart:
            outcomes = [await self._store_alone(raw, item, verdict, now) for raw, item, verdict in work]
        for outcome in outcomes:
            log_outcome(outcome)
        return outcomes

    async def _store_together(self, work: Sequence[tuple[RawMessage, Inbound | Unprepared,
                                                         Verdict | Unprepared | None]],
                              now: datetime) -> list[Outcome]:
        results: list[Outcome | PlannedConcern] = []
        async with transaction(self.sessions) as session:
            batch = await BatchState.load(session, [item for _, item, _ in work if isinstance(item, Inbound)],
                                          self.settings, now)
            try:
                for raw, item, verdict in work:
                    if isinstance(item, Exception):
                        results.append(self._quarantine_row(session, raw, None, reason(item),
                                                            now))
                        continue
                    if verdict is None or isinstance(verdict, Exception):
                        raise StoreApart
                    if batch.answers_pending(item):
                        await self._write(session, batch, now)  # its thread, or the concern it joins, must be found
                    results.append(await self._store(session, item, verdict, raw, now, batch))
                    batch.remember(item)
                await self._write(session, batch, now)
            except StoreApart:
                raise
            except Exception as exc:
                if is_infrastructure_error(exc):
                    raise
                raise StoreApart from exc
        return [outcome_of(r) for r in results]

    async def _store_alone(self, raw: RawMessage, item: Inbound | Unprepared, verdict: Verdict | Unprepared | None,
                           now: datetime) -> Outcome:
        if isinstance(item, Exception):
            return await self.quarantine(raw, None, reason(item), now)
        try:
            if verdict is None or isinstance(verdict, Exception):
                raise verdict or RuntimeError("no verdict")
            try:
                return await self._store_in_own_transaction(item, verdict, raw, now)
            except IntegrityError:
                # another worker committed a row this one needed (the same Message-ID, or the same
                # new client from another mailbox): once more, now that its row is visible
                return await self._store_in_own_transaction(item, verdict, raw, now)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise
            return await self.quarantine(raw, item.message_id, reason(exc), now)

    async def _store_in_own_transaction(self, msg: Inbound, verdict: Verdict, raw: RawMessage,
                                        now: datetime) -> Outcome:
        async with transaction(self.sessions) as session:
            batch = await BatchState.load(session, [msg], self.settings, now)
            result = await self._store(session, msg, verdict, raw, now, batch)
            await self._write(session, batch, now)
        return outcome_of(result)

    async def quarantine(self, raw: RawMessage, message_id: str | None, reason: str,
                         now: datetime) -> Outcome:
        """Keep a message that cannot be processed, with the reason, in its own transaction."""
        async with transaction(self.sessions) as session:
            outcome = self._quarantine_row(session, raw, message_id, reason, now)
        return outcome

    @staticmethod
    def _quarantine_row(session: AsyncSession, raw: RawMessage, message_id: str | None, reason: str,
                        now: datetime) -> Outcome:
        session.add(Quarantine(source=raw.source[:500], message_id=message_id, reason=reason[:4000],
                               raw=raw.data, created_at=now))
        return Outcome(message_id or "?", Action.QUARANTINED, reasons=(reason,), source=raw.source)

    async def _store(self, session: AsyncSession, msg: Inbound, verdict: Verdict, raw: RawMessage,
                     now: datetime, batch: BatchState) -> Outcome | PlannedConcern:
        """Decide on one message; a new concern is only planned here, and written by `_write`."""
        ctx = await triage_context(session, msg, batch, self.settings, now)
        decision = triage(msg, verdict, ctx)
        if decision.action == Action.DUPLICATE:
            return Outcome(msg.message_id, decision.action, reasons=decision.reasons)
        if decision.owner_mail:  # an owner's reply to a digest or alert
            handled = await owner_mail.carry_out(session, msg, decision, ctx.owner, self.settings, now)
            return await self._store_handled(session, msg, handled, raw, now, batch, decision.rules)
        # before any answer
        client = await self._stop_or_lift(session, msg, decision, ctx.owner, now, batch, verdict.lang)
        if decision.action == Action.OPT_OUT:  # a request to stop, and nothing else
            assert client is not None, "`opt_out` is a client's request"
            confirmed = await opt_outs.confirm(session, client, msg, None, self.settings, now) \
                if decision.confirms_opt_out else None
            return await self._store_handled(session, msg, owner_mail.OwnerResult(decision.action, decision.reasons,
                                                                                  confirmed),
                                             raw, now, batch, decision.rules)
        if "circuit-breaker" in decision.rules.hit:
            log.warning("circuit breaker open: no automatic replies to %s for now (%d in %g h)",
                        org_of(ack_recipient(msg)), ctx.recent_domain_replies,
                        self.settings.domain_reply_window_h, extra={"message_id": msg.message_id})
        if decision.action == Action.NEW_CONCERN:
            account = await self._accounts.sender_account(session, msg.from_addr)
            client = await clients.client_for(session, msg.from_addr, msg.from_name, account, now, batch.clients)
            clients.remember_language(client, verdict.lang)
            planned = PlannedConcern(msg, verdict, decision, raw, account, client)
            if decision.reply_template:  # counted now: a later message of the batch must see it
                batch.count_ack(msg, self.settings)
            batch.pending.append(planned)
            batch.unwritten.add(msg.message_id)
            return planned
        concern, client_id, outbox_ids, changed = await self._apply(session, msg, verdict, decision, now, batch,
                                                                      raw.arrived_at)
        decision = replace(decision, rules=decision.rules + changed)
        batch.rows.messages.append(await self._message_values(session, msg, verdict, decision, raw, concern,
                                                              client_id, now))
        batch.unwritten.add(msg.message_id)
        return Outcome(msg.message_id, decision.action, concern.token if concern else None,
                       decision.reasons, tuple(outbox_ids), label=verdict.label, summary=decision.summary)

    async def _stop_or_lift(self, session: AsyncSession, msg: Inbound, decision: Decision, owner: OwnerFacts,
                            now: datetime, batch: BatchState, lang: str | None) -> Client | None:
        """Opt the sender out, or lift their opt-out, as the rules decided; their client if either.
        `lang`, the message's language, is remembered first: the confirmation is written in it."""
        if not (decision.opt_out or decision.lifts_opt_out):
            return None
        account = await self._accounts.sender_account(session, msg.from_addr)
        client = await clients.client_for(session, msg.from_addr, msg.from_name, account, now, batch.clients)
        clients.remember_language(client, lang)
        await session.flush()  # a new client needs its id
        if decision.opt_out:
            # to their unsubscribe address: the client the signed address names (its From's)
            named = unsubscribe_client(msg, owner)
            client = (await session.get(Client, named) if named is not None else None) or client
            await opt_outs.opt_out(session, client, opt_outs.stop_reason(msg, decision), now)
        else:
            await opt_outs.lift(session, client, msg, self.settings, now)
            await session.flush()  # the way out's gate may read the client from the database
        return client

    async def _write(self, session: AsyncSession, batch: BatchState, now: datetime) -> None:
        """Write the planned new concerns: a few INSERTs for all of them, not a dozen statements each."""
        planned, batch.pending = batch.pending, []
        rows = batch.rows
        batch.unwritten.clear()
        if not planned:
            await self._write_rows(session, rows)
            return
        await session.flush()  # their new clients, for the ids
        policy = escalation_policy_of(self.settings)
        made_concerns: list[Concern] = []
        for p in planned:
            # the promise to the client is the deadline the owner is held to
            state = ConcernState(0, p.decision.severity, ConcernStatus.OPEN, now, (),
                                 has_second_level=bool(p.account.second_level))  # new: no items yet
            concern = Concern(
                client_id=p.client.id, kind=p.verdict.label, severity=p.decision.severity, status=ConcernStatus.OPEN,
                escalation_level=0, score=p.verdict.score, subject=p.msg.subject[:500],
                evidence=list(p.verdict.evidence),
                respond_by=deadlines(state, accounts.hours_of(p.account), policy)[0],
                created_at=now, acknowledged_at=None, updated_at=now,
            )
            made_concerns.append(concern)
            session.add(concern)
        await session.flush()  # the concerns, for their ids and so their tokens
        # all of the batch's acknowledgements rendered and composed at once (they were a third of the
        # worker's CPU time, py-spy); with `compose_apart` the preparer composes them while the rows
        # that need no acknowledgement are added here
        key = await outgoing.signing_key(session, self.settings)  # of the clients' unsubscribe addresses
        requests = {k: self._ack_request(p.msg, concern, p.client, p.decision.reply_template, p.account,
                                         key, now, p.raw.arrived_at)
                    for k, (p, concern) in enumerate(zip(planned, made_concerns, strict=True))
                    if p.decision.reply_template}
        composing = asyncio.ensure_future(self._compose(list(requests.values())))
        try:
            for p, concern in zip(planned, made_concerns, strict=True):
                found = f"{p.verdict.label} {p.verdict.score:.2f} from {p.msg.from_addr}"
                rows.events.append(concerns.change(concern, "created", "detector", now, found,
                                                   to_status=ConcernStatus.OPEN))
                if p.decision.opt_out:  # the same message asked us to stop: the client is opted out already
                    rows.events.append(concerns.change(concern, "opted_out", p.client.email, now,
                                                       opt_outs.stop_reason(p.msg, p.decision)))
                rows.jobs.append(jobs.job_row(f"{JobKind.ESCALATE}:{concern.token}", JobKind.ESCALATE,
                                              concern.respond_by))
                rows.messages.append(await self._message_values(session, p.msg, p.verdict, p.decision, p.raw,
                                                                concern, p.client.id, now))
            composed = await composing
        finally:
            if not composing.done():
                composing.cancel()
        await rows.write_messages(session)  # the events and jobs go in with the acknowledgements' own
        queued = dict(zip(requests, await outgoing.queue(session, list(requests.values()), self.settings, now,
                                                         composed=composed), strict=True))
        replies: list[tuple[int, ...]] = []
        for k, (p, concern) in enumerate(zip(planned, made_concerns, strict=True)):
            row = queued.get(k)
            if isinstance(row, outgoing.Queued):
                self._acknowledged(concern, p.account, row, rows, now)
                replies.append((row.id,))
                continue
            if p.decision.reply_template:
                batch.count_ack(p.msg, self.settings, -1)
            confirmed = await opt_outs.confirm(session, p.client, p.msg, concern, self.settings, now) \
                if p.decision.confirms_opt_out else None
            if confirmed is not None:
                batch.count_reply(confirmed.to_addr, confirmed.purpose)
            replies.append((confirmed.id,) if confirmed is not None else ())
        await self._write_rows(session, rows)
        for p, concern, ids in zip(planned, made_concerns, replies, strict=True):
            batch.opened(concern, p.client.email)
            p.outcome = Outcome(p.msg.message_id, p.decision.action, concern.token, p.decision.reasons, ids,
                                label=p.verdict.label, summary=p.decision.summary)

    @staticmethod
    async def _write_rows(session: AsyncSession, rows: BatchRows) -> None:
        await messages.insert_write_only(session)  # those the ORM paths added (events of follow-ups)
        await rows.write(session)

    async def _message_values(self, session: AsyncSession, msg: Inbound, verdict: Verdict, decision: Decision,
                              raw: RawMessage, concern: Concern | None, client_id: int | None,
                              now: datetime) -> dict[str, Any]:
        return inbound_row(
            msg, raw, now, self.settings.raw_keep_bytes, decision=decision.action, reasons=decision.reasons,
            rules=decision.rules,
            concern_id=concern.id if concern else None, client_id=client_id,
            event_id=await messages.thread_event(session, msg.thread_ids),
            verdict={"label": verdict.label, "score": verdict.score,
                     "evidence": list(verdict.evidence), "scores": verdict.scores,
                     "evidence_by_label": {k: list(v) for k, v in verdict.evidence_by_label.items()},
                     "lang": verdict.lang})

    async def _store_handled(self, session: AsyncSession, msg: Inbound, owner: owner_mail.OwnerResult,
                             raw: RawMessage, now: datetime, batch: BatchState, rules: RuleRecord) -> Outcome:
        """Store a message that files nothing (an owner's reply, a request to stop)."""
        outbox_ids: list[int] = []
        if owner.outbox is not None:
            batch.count_reply(owner.outbox.to_addr, owner.outbox.purpose)
            outbox_ids.append(owner.outbox.id)
        batch.rows.messages.append(inbound_row(msg, raw, now, self.settings.raw_keep_bytes, decision=owner.decision,
                                               reasons=owner.reasons, rules=rules))
        batch.unwritten.add(msg.message_id)
        return Outcome(msg.message_id, owner.decision, reasons=owner.reasons, outbox_ids=tuple(outbox_ids))

    async def _apply(self, session: AsyncSession, msg: Inbound, verdict: Verdict, decision: Decision, now: datetime,
                     batch: BatchState,
                     arrived_at: datetime | None) -> tuple[Concern | None, int | None, list[int], RuleRecord]:
        """A message that creates no concern: one in the thread of a known concern, or none at all; with the
        rules its concern's change asked."""
        if decision.action != Action.FOLLOW_UP:
            return None, None, [], RuleRecord()
        account = await self._accounts.sender_account(session, msg.from_addr)
        client = await clients.client_for(session, msg.from_addr, msg.from_name, account, now, batch.clients)
        clients.remember_language(client, verdict.lang)
        if client.id is None:
            await session.flush()  # a new client's id
        assert decision.concern_id is not None
        concern = await concerns.concern_by_token(session, f"C-{decision.concern_id}")
        batch.hold(account, concern)
        concern.updated_at = now
        # the client's own concern: `follow-up` hit, and `client` is the sender's
        changed = await client_replies.apply_reply(session, concern, account, msg, verdict, self.settings, now,
                                                   joined=JOINED in decision.reasons)
        outbox_ids: list[int] = []
        confirmed = await opt_outs.confirm(session, client, msg, concern, self.settings, now) \
            if decision.confirms_opt_out else None
        if confirmed is not None:
            batch.count_reply(confirmed.to_addr, confirmed.purpose)
            outbox_ids.append(confirmed.id)
        if decision.reply_template:
            rows = BatchRows()
            row = await self._reply(session, msg, concern, client, account, decision.reply_template, now, rows,
                                    arrived_at)
            await rows.write(session)
            if row is not None:
                batch.count_ack(msg, self.settings)
                await session.flush()
                outbox_ids.append(row.id)
        return concern, client.id, outbox_ids, changed

    async def _reply(self, session: AsyncSession, msg: Inbound, concern: Concern, client: Client,
                     account: Account, template: str, now: datetime, rows: BatchRows,
                     arrived_at: datetime | None) -> outgoing.Queued | None:
        """Queue the acknowledgement of `msg` (None if it cannot be addressed); what follows it goes in `rows`."""
        request = self._ack_request(msg, concern, client, template, account,
                                    await outgoing.signing_key(session, self.settings), now, arrived_at)
        [row] = await outgoing.queue(session, [request], self.settings, now)
        if not isinstance(row, outgoing.Queued):
            return None
        self._acknowledged(concern, account, row, rows, now)
        return row

    def _acknowledged(self, concern: Concern, account: Account, row: outgoing.Queued, rows: BatchRows,
                      now: datetime) -> None:
        """What follows a queued acknowledgement: the concern's history, and its first check-in."""
        concern.acknowledged_at = now
        moved = ConcernStatus.ACKNOWLEDGED if concern.status == ConcernStatus.OPEN else None
        rows.events.append(concerns.change(concern, "acknowledged", "service", now, row.message_id, to_status=moved))
        rows.jobs.append(checkins.first_checkin(concern, accounts.hours_of(account), self.settings))

    def _ack_request(self, msg: Inbound, concern: Concern, client: Client, template: str, account: Account,
                     key: bytes, now: datetime, arrived_at: datetime | None) -> letters.LetterRequest:
        s = self.settings
        lang = outgoing.client_language(s, client, account)
        return letters.acknowledgement(
            msg, sender=outgoing.sender_of(s), token=concern.token, kind=concern.kind, evidence=list(concern.evidence),
            respond_by=moment(concern.respond_by, account.timezone, lang), template=template,
            handler_name=s.default_owner_name, unsubscribe=outgoing.client_unsubscribe_address(s, key, client),
            links=letters.Links(concern.id, client.id), now=now, arrived_at=arrived_at, lang=lang)
