"""What a client's reply in a concern's thread changes: it reopens it, raises it, or suggests resolving it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.core.chain import Chain, RuleRecord, link, rule, run
from service.core.settled_reply import says_all_is_well
from service.detector.detect import Verdict


class ReplyChange(StrEnum):
    """What the flow does to the concern."""

    REOPEN = "reopen"
    RAISE_SEVERITY = "raise-severity"
    SUGGEST_RESOLVE = "suggest-resolve"  # to the owner, by the digest: never a resolution
    NONE = "none"


@dataclass(frozen=True)
class ReplyFacts:
    """The concern as it stands and the client's reply to it."""

    status: str
    severity: str
    verdict: Verdict
    text: str  # the client's new words
    owner_email: str | None  # the owner of the sender's account, who would get a suggestion
    # a new message (not a reply in the thread) that joined the concern, and is high severity itself:
    # a reply's subject repeats the first message's "URGENT", so only a joined message's is read
    urgent: bool = False


@rule("reopen-resolved", "Is the concern resolved, so that the client's new message reopens it?")
def reopen_resolved(f: ReplyFacts) -> bool:
    return f.status == "resolved"


@rule("new-worry", "Does the reply carry a worry while the concern is not high severity yet (it is raised)?")
def new_worry(f: ReplyFacts) -> bool:
    return "anxiety" in f.verdict.labels and f.severity != "high"


@rule("urgent-message", "Did a new message of the client that joined the concern come high severity (a complaint "
      "with a worry, or marked urgent) while the concern is not (it is raised)?")
def urgent_message(f: ReplyFacts) -> bool:
    return f.urgent and f.severity != "high"


@rule("all-is-well", "Does the client say all is well, with nothing detected, and has the account an owner to tell?")
def all_is_well(f: ReplyFacts) -> bool:
    return f.verdict.label == "none" and says_all_is_well(f.text) and bool(f.owner_email)


CLIENT_REPLY: Chain[ReplyFacts, ReplyChange] = Chain("client-reply", (
    link(reopen_resolved, hit=lambda f: ReplyChange.REOPEN),
    link(new_worry, hit=lambda f: ReplyChange.RAISE_SEVERITY),
    link(urgent_message, hit=lambda f: ReplyChange.RAISE_SEVERITY),
    link(all_is_well, hit=lambda f: ReplyChange.SUGGEST_RESOLVE),
), otherwise=lambda f: ReplyChange.NONE)


def reply_change(facts: ReplyFacts) -> tuple[ReplyChange, RuleRecord]:
    """What the client's reply changes in its concern, and the rules asked."""
    return run(CLIENT_REPLY, facts)
