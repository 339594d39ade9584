"""Clients relayed by a list or group are still clients (issue 17, point 2): the real worker on Maildir + SQLite.

Each message is written in the shape the list program writes (`listmail`): the concern is
filed, the author is acknowledged (never the list), newsletters and digests a list passes on
stay machine mail, and our own mail coming back through a group is known as ours.
"""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Client, MessageRow

import listmail as lm
from mailfactory import drop


def settings_for(tmp_path: Path, **kw: object) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address=lm.OURS,
                    default_owner="owner@example.test", **kw)  # type: ignore[arg-type]


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir())] if new.exists() else []


async def rows(settings: Settings) -> tuple[list[MessageRow], list[Client]]:
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            return (list((await s.scalars(select(MessageRow).where(MessageRow.direction == "in"))).all()),
                    list((await s.scalars(select(Client))).all()))
    finally:
        await worker.engine.dispose()


# (the message, its author): each a person's complaint relayed to us
RELAYED: dict[str, tuple[Callable[[], bytes], str]] = {
    "google group of ours": (lambda: lm.google_group(), "marta.silva@client.example"),
    "google group of ours, DMARC rewrite": (lambda: lm.google_group(rewritten=True), "marta.silva@client.example"),
    "google group of ours, DMARC rewrite, replies to the group": (
        lambda: lm.google_group(rewritten=True, reply_to_group=True, addr="rui@outlook.example", author="Rui Costa"),
        "rui@outlook.example"),
    "client's workspace group copying us": (
        lambda: lm.google_group(group="team@client.example", group_name="Team", to="Team <team@client.example>"),
        "marta.silva@client.example"),
    "client's group, DMARC rewrite, us in Cc": (
        lambda: lm.google_group(addr="li.wei@yahoo.example", author="Li Wei", group="team@client.example",
                                group_name="Team", rewritten=True, to="Team <team@client.example>, Care <care@example.test>"),
        "li.wei@yahoo.example"),
    "mailman 2, us in Cc": (lambda: lm.mailman2(), "marta.silva@client.example"),
    "mailman 2, the client's own list only": (lambda: lm.mailman2(cc=None), "marta.silva@client.example"),
    "mailman 2, From munged": (lambda: lm.mailman2(munged=True, addr="ola@aol.example", author="Ola Nordmann"),
                               "ola@aol.example"),
    "mailman 3": (lambda: lm.mailman3(), "juergen.weiss@kunde.example"),
    "mailman 3, author in Reply-To": (lambda: lm.mailman3(munge="reply-to", cc=lm.OURS), "juergen.weiss@kunde.example"),
    "mailman 3, author in Cc": (lambda: lm.mailman3(munge="cc", cc=lm.OURS), "juergen.weiss@kunde.example"),
    "sympa": (lambda: lm.sympa(), "anne.dupont@client.example"),
    "sympa, DMARC protection": (lambda: lm.sympa(protected=True), "anne.dupont@client.example"),
    "listserv": (lambda: lm.listserv(), "pat.kowalski@client.example"),
    "microsoft 365 group": (lambda: lm.microsoft365_group(), "sam.lee@client.example"),
    "our address is a group, no list headers": (lambda: lm.own_group_no_list_headers(), "marta.silva@client.example"),
}


@pytest.mark.parametrize("name", sorted(RELAYED))
async def test_a_relayed_complaint_is_filed_and_its_author_acknowledged(tmp_path: Path, name: str) -> None:
    make, author = RELAYED[name]
    drop(tmp_path / "in", make())
    settings = settings_for(tmp_path)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"new_concern": 1}, stats.outcomes
    [ack] = sent(tmp_path)
    assert [a.addr_spec.lower() for a in ack["To"].addresses] == [author]  # the person, never the list
    [row], [client] = await rows(settings)
    assert client.email == author and row.from_addr == author
    assert row.rules is not None and "list-mail" not in row.rules["hit"] and "own-address" not in row.rules["hit"]


MACHINE: dict[str, Callable[[], bytes]] = {
    "mailman passing on a newsletter": lm.mailman_relaying_a_newsletter,
    "google group passing on a no-reply newsletter": lm.google_group_relaying_a_noreply_newsletter,
    "google group passing on a bulk mailer's campaign": lm.google_group_relaying_a_bulk_mailer,
    "a list's digest": lm.mailman_digest,
    "an announcement list": lm.announce_only_list,
    "a list the mailbox only reads": lm.list_we_only_read,
}


@pytest.mark.parametrize("name", sorted(MACHINE))
async def test_bulk_mail_a_list_passes_on_stays_machine_mail(tmp_path: Path, name: str) -> None:
    drop(tmp_path / "in", MACHINE[name]())
    settings = settings_for(tmp_path)
    stats = await Worker(settings).run_once()
    assert stats.outcomes == {"ignore": 1} and stats.sent == 0, stats.outcomes
    [row], _ = await rows(settings)
    assert row.reasons[0].startswith("auto:") and row.rules is not None
    assert "relayed-by-list" in row.rules["missed"]


@pytest.mark.parametrize("keep", [b"message-id", b"x-followup-instance"])
async def test_our_own_acknowledgement_back_through_a_group_is_ours(tmp_path: Path, keep: bytes) -> None:
    drop(tmp_path / "in", lm.google_group(group="team@client.example", group_name="Team",
                                          to="Team <team@client.example>, care@example.test"))
    settings = settings_for(tmp_path)
    assert (await Worker(settings).run_once()).outcomes == {"new_concern": 1}
    [ack] = sent(tmp_path)
    drop(tmp_path / "in", lm.our_ack_back_through_a_group(ack.as_bytes(policy=policy.SMTP), keep=keep))
    stats = await Worker(settings).run_once()
    # known by its Message-ID (a message of ours is stored under it) or by X-Followup-Instance
    assert set(stats.outcomes) <= {"ignore", "duplicate"} and stats.sent == 0, stats.outcomes
    assert len(sent(tmp_path)) == 1  # no loop
