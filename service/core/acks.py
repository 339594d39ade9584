"""The acknowledgement of a new concern: what it says, rendered and composed to bytes.

Pure: a request holds every input, so a batch of them can be composed in the
worker or in its prepare process (`service.runtime.prepare`), with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from service.errors import SendError
from service.mailformat import compose as composer
from service.mailformat.parse import Inbound
from service.mailformat.render import render


@dataclass(frozen=True)
class AckRequest:
    """Everything one acknowledgement is made of; its Message-ID is fixed before it is composed."""

    template: str
    context: dict[str, Any]
    templates_dir: Path | None
    from_addr: str
    from_name: str
    to_addr: str
    to_name: str
    subject: str
    now: datetime
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    headers: dict[str, str]


@dataclass(frozen=True)
class NoAck:
    """An acknowledgement that cannot be sent (the address is not one plain mailbox), and why."""

    reason: str


def request(msg: Inbound, *, token: str, kind: str, evidence: list[str], respond_by: str, template: str,
            templates_dir: Path | None, shared_address: str, shared_name: str, shared_domain: str,
            handler_name: str, now: datetime) -> AckRequest:
    """The acknowledgement of `msg`, filed as concern `token`."""
    name = msg.from_name.split(" ")[0] if msg.from_name else ""
    context = {
        "greeting": f"Dear {name}," if name else "Hello,",
        "client_name": msg.from_name,
        "token": token,
        "kind": kind,
        "evidence": evidence or [msg.subject],
        "respond_by": respond_by,
        "handler_name": handler_name,
        "team_name": shared_name,
        "subject": msg.subject,
    }
    return AckRequest(
        template=template, context=context, templates_dir=templates_dir,
        from_addr=shared_address, from_name=shared_name, to_addr=msg.reply_address, to_name=msg.from_name,
        subject=composer.reply_subject(msg.subject, token), now=now,
        message_id=composer.new_message_id(shared_domain), in_reply_to=msg.message_id,
        references=msg.references,
        headers={"X-Followup-Concern": token, "X-Followup-Instance": shared_address},
    )


def compose_all(requests: list[AckRequest]) -> list[composer.Outgoing | NoAck]:
    """Render and compose each request; one that cannot be addressed gets the reason instead."""
    out: list[composer.Outgoing | NoAck] = []
    for req in requests:
        rendered = render(req.template, req.context, req.templates_dir)
        try:
            out.append(composer.compose(
                from_addr=req.from_addr, from_name=req.from_name, to_addr=req.to_addr, to_name=req.to_name,
                subject=req.subject, text=rendered.text, html=rendered.html, now=req.now,
                message_id=req.message_id, in_reply_to=req.in_reply_to, references=req.references,
                headers=req.headers))
        except SendError as exc:
            out.append(NoAck(str(exc)))
    return out
