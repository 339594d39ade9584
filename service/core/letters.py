"""Every automatic message we write, as a request; and the one place that renders and composes it. Pure.

A `LetterRequest` holds every input of one message: the template and its context, the
recipient, the subject, the thread it answers, the concern it is about, its dedupe key and
the client's signed unsubscribe address. `compose_letters` turns a batch of them into bytes,
and is the only place that sets the headers every kind shares: `Auto-Submitted` (RFC 3834),
In-Reply-To/References, `X-Followup-Instance`, `X-Followup-Concern` and, on every message to
a client, `List-Unsubscribe` (RFC 2369). A request can be handed to another process
(`service.runtime.prepare`) and composes the same there.

`gate` is the pure half of queueing (`service.flows.outgoing`): whether a request may go, given
what the store knows (its key queued before, the client opted out, the client's recent mail).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from service.core.letter_kinds import CLIENT_BOUND as CLIENT_BOUND
from service.core.letter_kinds import HANDLING as HANDLING
from service.core.letter_kinds import Handling as Handling
from service.core.letter_kinds import Purpose as Purpose
from service.core.mailboxes import Cause, ack_cause, ack_recipient
from service.errors import SendError
from service.mailformat import compose as composer
from service.mailformat.parse import Inbound
from service.mailformat.render import render


@dataclass(frozen=True)
class Sender:
    """Who writes every automatic message, and from which templates."""

    address: str
    name: str
    domain: str  # of the Message-IDs we make
    templates_dir: Path | None = None

    def next_message_id(self) -> str:
        """A fresh Message-ID of ours."""
        return composer.new_message_id(self.domain)


@dataclass(frozen=True)
class Links:
    """The rows a message belongs to, written on its outbox and message rows."""

    concern_id: int | None = None
    client_id: int | None = None
    event_id: int | None = None


@dataclass(frozen=True)
class LetterRequest:
    """Everything one automatic message is made of; its Message-ID is fixed before it is composed."""

    purpose: Purpose
    sender: Sender
    template: str
    context: dict[str, Any]
    to_addr: str
    to_name: str
    subject: str
    now: datetime
    message_id: str
    dedupe_key: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    concern: str | None = None  # its token, for X-Followup-Concern
    unsubscribe: str | None = None  # the client's signed mailto: on every message to a client, on none other
    extra_headers: tuple[tuple[str, str], ...] = ()  # the digest's signed Reply-To
    links: Links = field(default_factory=Links)
    # the sender whose message made us write, and their source (`mailboxes.ack_cause`): triage's caps count them
    cause: Cause | None = None
    # an acknowledgement: when the message it answers reached our mail server (latency is counted from then)
    answers_arrived_at: datetime | None = None

    def __post_init__(self) -> None:
        if HANDLING[self.purpose].to_client != (self.unsubscribe is not None):
            raise ValueError(f"a {self.purpose} {'needs' if self.unsubscribe is None else 'takes no'} "
                             "unsubscribe address")


@dataclass(frozen=True)
class Composed:
    """A request made into bytes: what its outbox and message rows store."""

    message_id: str
    to_addr: str  # lower case, as the caps count it
    raw: bytes
    text: str  # the plain-text part, "" where its row keeps none


@dataclass(frozen=True)
class Refusal:
    """A request that is not queued, and why; `retry_at` says when it could go (the client cap)."""

    reason: str
    retry_at: datetime | None = None


UNSENDABLE = "unsendable"  # the reason's start when a request's address is not one plain mailbox


# -- the requests, one constructor per kind ---------------------------------------------------

def first_name(name: str) -> str:
    """The first word of a display name ("Ana" of "Ana Lima"), "" without one: each language greets with it."""
    return name.split(" ")[0] if name else ""


def greeting(name: str) -> str:
    """The English salutation: "Dear Ana," from the first word of a display name, "Hello," without one."""
    first = first_name(name)
    return f"Dear {first}," if first else "Hello,"


def reply_language(client_lang: str | None, account_lang: str | None, available: Collection[str]) -> str:
    """The language we write to a client in: theirs where there are templates for it, else their
    account's default, else English."""
    for lang in (client_lang, account_lang):
        if lang and lang in available:
            return lang
    return "en"


def unsubscribe_mailto(signed_address: str) -> str:
    """The List-Unsubscribe target (RFC 2369) for a client's signed address."""
    return f"mailto:{signed_address}?subject=stop"


def client_context(*, client_name: str, token: str, subject: str, kind: str, team_name: str,
                   handler_name: str, unsubscribe: str, lang: str = "en") -> dict[str, Any]:
    """What every message to a client says: greeting, signature, how to stop them; `lang` picks the
    templates' language (`render`)."""
    return {"greeting": greeting(client_name), "first_name": first_name(client_name), "lang": lang,
            "token": token, "subject": subject, "kind": kind,
            "team_name": team_name, "handler_name": handler_name, "unsubscribe": unsubscribe}


def acknowledgement(msg: Inbound, *, sender: Sender, token: str, kind: str, evidence: Sequence[str],
                    respond_by: str, template: str, handler_name: str, unsubscribe: str, links: Links,
                    now: datetime, arrived_at: datetime | None = None, lang: str = "en") -> LetterRequest:
    """The acknowledgement of `msg`, filed as concern `token`: threaded onto it, quoting the client's words.

    It goes to the author (`mailboxes.ack_recipient`): never to a Reply-To outside their
    organisation, never to the list that passed the message on.
    """
    context = {
        **client_context(client_name=msg.from_name, token=token, subject=msg.subject, kind=kind,
                         team_name=sender.name, handler_name=handler_name, unsubscribe=unsubscribe, lang=lang),
        "client_name": msg.from_name,
        "evidence": list(evidence) or [msg.subject],
        "respond_by": respond_by,
    }
    return LetterRequest(
        purpose=Purpose.ACK, sender=sender, template=template, context=context, to_addr=ack_recipient(msg),
        to_name=msg.from_name, subject=composer.reply_subject(msg.subject, token), now=now,
        message_id=sender.next_message_id(), dedupe_key=f"ack:{token}", in_reply_to=msg.message_id,
        references=msg.references, concern=token, unsubscribe=unsubscribe, links=links,
        cause=ack_cause(msg, sender.address), answers_arrived_at=arrived_at)


def to_client(purpose: Purpose, *, sender: Sender, template: str, context: dict[str, Any], to_addr: str,
              to_name: str, subject: str, dedupe_key: str, last_message_id: str | None, concern: str | None,
              links: Links, now: datetime) -> LetterRequest:
    """A check-in, closing note or reminder: threaded onto the last message of its concern or event.

    `context` is `client_context`'s and the kind's own; its unsubscribe address goes in the header too.
    """
    if purpose not in (Purpose.CHECKIN, Purpose.CLOSING, Purpose.REMINDER):
        raise ValueError(f"not a message we start to a client: {purpose}")
    return LetterRequest(
        purpose=purpose, sender=sender, template=template, context=context, to_addr=to_addr, to_name=to_name,
        subject=subject, now=now, message_id=sender.next_message_id(), dedupe_key=dedupe_key[:200],
        in_reply_to=last_message_id, references=(last_message_id,) if last_message_id else (), concern=concern,
        unsubscribe=str(context["unsubscribe"]), links=links)


def digest(*, alert: bool, sender: Sender, recipient: str, subject: str, context: dict[str, Any],
           message_id: str, digest_id: int, reply_to: str, now: datetime) -> LetterRequest:
    """An owner's digest (or alert): its Reply-To is the address signed for the owner and this digest."""
    purpose = Purpose.ALERT if alert else Purpose.DIGEST
    return LetterRequest(
        purpose=purpose, sender=sender, template="digest", context=context, to_addr=recipient, to_name="",
        subject=subject, now=now, message_id=message_id, dedupe_key=f"{purpose}:{digest_id}",
        extra_headers=(("Reply-To", reply_to),))


def opt_out_confirmation(msg: Inbound, *, sender: Sender, context: dict[str, Any], to_addr: str, to_name: str,
                         opted_out_at: datetime, concern: str | None, links: Links, now: datetime) -> LetterRequest:
    """The note that tells a client their request to stop is done (and, if the same message carried a
    concern, that a person has it); threaded onto their request. One per opt-out: its key names it."""
    return LetterRequest(
        purpose=Purpose.OPTOUT_CONFIRM, sender=sender, template="optout_confirm", context=context, to_addr=to_addr,
        to_name=to_name, subject=composer.reply_subject(msg.subject, concern), now=now,
        message_id=sender.next_message_id(),
        dedupe_key=f"optout:{links.client_id}:{opted_out_at.isoformat()}"[:200], in_reply_to=msg.message_id,
        references=msg.references, concern=concern, unsubscribe=str(context["unsubscribe"]), links=links)


def confirmation(msg: Inbound, *, sender: Sender, context: dict[str, Any], now: datetime,
                 to_addr: str | None = None) -> LetterRequest:
    """What an owner's reply recorded and what was not understood, threaded onto that reply; to `to_addr`
    (the author the owner-mail rules checked), else to the From header's address."""
    return LetterRequest(
        purpose=Purpose.CONFIRM, sender=sender, template="confirm", context=context,
        to_addr=to_addr or msg.header_from or msg.from_addr,
        to_name=msg.from_name, subject=composer.reply_subject(msg.subject, None), now=now,
        message_id=sender.next_message_id(), dedupe_key=f"confirm:{msg.message_id}"[:200],
        in_reply_to=msg.message_id, references=msg.references)


def incident(*, sender: Sender, operator: str, incident_id: int, ended: bool, subject: str,
             context: dict[str, Any], now: datetime) -> LetterRequest:
    """The operator's mail about an incident opening (or ending): at most one of each per incident."""
    return LetterRequest(
        purpose=Purpose.INCIDENT, sender=sender, template="incident", context=context, to_addr=operator,
        to_name="", subject=subject, now=now, message_id=sender.next_message_id(),
        dedupe_key=f"incident:{incident_id}:{'ended' if ended else 'opened'}")


# -- composing ---------------------------------------------------------------------------------

def _headers_of(req: LetterRequest) -> dict[str, str]:
    """The headers of ours a request's message carries, besides those every message has."""
    headers = {"X-Followup-Instance": req.sender.address}
    if req.context.get("lang"):  # the language its templates were chosen in (RFC 3282)
        headers["Content-Language"] = str(req.context["lang"])
    if req.concern:
        headers["X-Followup-Concern"] = req.concern
    if req.unsubscribe is not None:
        headers["List-Unsubscribe"] = f"<{req.unsubscribe}>"
    headers.update(req.extra_headers)
    return headers


def compose_letters(requests: Sequence[LetterRequest]) -> list[Composed | Refusal]:
    """Render and compose each request; one that cannot be addressed gets the reason instead."""
    out: list[Composed | Refusal] = []
    for req in requests:
        handling = HANDLING[req.purpose]
        rendered = render(req.template, req.context, req.sender.templates_dir)
        try:
            made = composer.compose(
                from_addr=req.sender.address, from_name=req.sender.name, to_addr=req.to_addr,
                to_name=req.to_name, subject=req.subject, text=rendered.text, html=rendered.html, now=req.now,
                message_id=req.message_id, in_reply_to=req.in_reply_to, references=req.references,
                headers=_headers_of(req), auto_submitted=handling.auto_submitted)
        except SendError as exc:
            out.append(Refusal(f"{UNSENDABLE}: {exc}"))
            continue
        out.append(Composed(made.message_id, made.to_addr, made.raw,
                            rendered.text[:20000] if handling.keeps_text else ""))
    return out


# -- whether it may go -------------------------------------------------------------------------

def cap_frees_at(sent_at: Sequence[datetime], cap: int, window: timedelta, now: datetime) -> datetime | None:
    """None while fewer than `cap` automatic messages went to the client in the window before `now`;
    else when the oldest of those that fill the cap leaves the window."""
    recent = sorted(t for t in sent_at if t > now - window)
    if len(recent) < cap:
        return None
    return recent[len(recent) - cap] + window


def gate(req: LetterRequest, *, queued_before: bool, opted_out: bool, recent: Sequence[datetime], cap: int,
         window: timedelta) -> Refusal | None:
    """Whether `req` may be queued: its key not queued before, and, where its kind honours them, the
    client not opted out and under the cap (`recent`: the client's automatic mail, any age)."""
    handling = HANDLING[req.purpose]
    if queued_before:
        return Refusal("already-queued")
    if handling.honours_opt_out and opted_out:
        return Refusal("client-asked-to-stop")
    if handling.client_capped:
        frees_at = cap_frees_at(recent, cap, window, req.now)
        if frees_at is not None:
            return Refusal("client-cap", frees_at)
    return None
