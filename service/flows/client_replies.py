"""A client's reply in the thread of their concern: the rules say what it changes, this writes it.

It reopens a resolved concern, raises one to high severity on a new worry, or puts
"the client says all is well" in the owner's digest as a suggestion to resolve,
never a resolution (`service.core.rules.client_reply`).
"""

from __future__ import annotations

from datetime import datetime, time

from service.core.businesstime import next_local_time
from service.core.chain import RuleRecord
from service.core.rules.client_reply import ReplyChange, ReplyFacts, reply_change
from service.core.rules.concern_rules import severity_of
from service.core.states import JobKind
from service.detector.detect import Verdict
from service.flows import checkins
from service.mailformat.parse import Inbound, one_line
from service.mailformat.replies import reply_words
from service.settings import Settings
from service.store import accounts, concerns, jobs
from service.store.db import AsyncSession
from service.store.models import Account, Concern, EscalationRow


async def apply_reply(session: AsyncSession, concern: Concern, account: Account, msg: Inbound, verdict: Verdict,
                      settings: Settings, now: datetime, *, joined: bool = False) -> RuleRecord:
    """Change `concern` as the client's reply `msg` calls for (`joined`: a new message of theirs that joined
    it, not a reply in its thread); the record of the rules asked."""
    urgent = joined and severity_of(verdict, msg) == "high"
    words = reply_words(msg.new_text, msg.subject)
    change, record = reply_change(ReplyFacts(concern.status, concern.severity, verdict, words,
                                             account.owner_email, urgent))
    if change == ReplyChange.REOPEN:
        await concerns.reopen(session, concern, msg.from_addr, now, f"new message {msg.message_id} from the client")
        await checkins.schedule_next(session, concern, settings)
    elif change == ReplyChange.RAISE_SEVERITY:
        concern.severity = "high"
        await concerns.record(session, concern, "severity", msg.from_addr, now,
                              f"raised to high: {'an urgent message' if urgent else 'a new worry'} in "
                              f"{msg.message_id}")
        await jobs.schedule(session, f"{JobKind.ESCALATE}:{concern.token}", JobKind.ESCALATE, now)
        await checkins.schedule_next(session, concern, settings)
    elif change == ReplyChange.SUGGEST_RESOLVE:
        assert account.owner_email, "`all-is-well` asks for an owner"
        session.add(EscalationRow(
            key=f"{concern.token}:suggest:{msg.message_id}"[:200], concern_id=concern.id, level=0,
            recipient=account.owner_email,
            reason=f"a decision: the client says all is well (\"{one_line(words, 160)}\"); "
                   f"if so, answer `{concern.token} resolved`", urgent=False, item_id=None, digest_id=None,
            created_at=now))
        await concerns.record(session, concern, "suggest_resolve", msg.from_addr, now, msg.message_id)
        at = next_local_time(now, time.fromisoformat(account.digest_time), accounts.hours_of(account).tz)
        await jobs.schedule(session, f"{JobKind.DIGEST}:{account.owner_email}", JobKind.DIGEST, at)
    return record
