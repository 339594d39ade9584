"""Issue 17 point 3c: a reply is read by its own words, never by the subject it repeats.

On the real pipeline and store (SQLite and PostgreSQL), and once on the real mail stack (Postfix
and Dovecot, IMAP): a worried reply under a calm subject ("Re: Thanks for the update [#C-1]")
raises its concern; a calm reply under a worried subject raises nothing and files nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Concern, MessageRow

from mailfactory import client_mail, drop
from support import empty_mailbox, query

MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def settings_for(tmp_path: Path, db_url: str) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=db_url, shared_address="care@example.test", default_owner="owner@example.test")


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


async def run(settings: Settings) -> dict[str, int]:
    return dict((await Worker(settings, clock=ManualClock(MONDAY_10)).run_once()).outcomes)


async def the_concern(settings: Settings) -> Concern:
    [concern] = await query(settings, Concern)
    assert isinstance(concern, Concern)
    return concern


# worried replies, as clients write them; read with the thread's calm subject, each was missed
WORRIES = [
    "Honestly I can't sleep, I keep worrying that the backup is gone for good.",
    "what if the files are gone for good?? I'm panicking a bit here",
    "Sorry to write again, but I'm losing sleep over this. Will the data really be safe?",
]


@pytest.mark.parametrize("worry", WORRIES)
async def test_a_worried_threaded_reply_under_a_calm_subject_raises_its_concern(
        tmp_path: Path, db_url: str, worry: str) -> None:
    settings = settings_for(tmp_path, db_url)
    drop(tmp_path / "in", client_mail(message_id="<t1@client.example>", subject="Thanks for the update",
                                      body="Thanks for the update, but the invoice is still wrong and nobody "
                                           "called back. This is unacceptable."))
    assert await run(settings) == {"new_concern": 1}
    [ack] = sent(tmp_path)
    assert ack["Subject"] == "Re: Thanks for the update [#C-1]"
    assert (await the_concern(settings)).severity == "normal"
    # the client answers the acknowledgement, its subject kept by their mail program, quoting it
    ack_text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    quoted = "\n".join(f"> {line}" for line in ack_text.splitlines())
    drop(tmp_path / "in", client_mail(message_id="<t2@client.example>", subject=str(ack["Subject"]),
                                      in_reply_to=str(ack["Message-ID"]),
                                      body=f"{worry}\n\nOn Monday, Care <care@example.test> wrote:\n{quoted}"))
    assert await run(settings) == {"follow_up": 1}
    assert (await the_concern(settings)).severity == "high"
    [row] = await query(settings, MessageRow, MessageRow.message_id == "<t2@client.example>")
    assert isinstance(row, MessageRow) and "new-worry" in row.rules["hit"]
    evidence = row.verdict["evidence_by_label"]["anxiety"]
    assert evidence and all(e in " ".join(worry.split()) for e in evidence)  # the reply's own words, no subject


@pytest.mark.parametrize(("prefix", "calm"), [("Re: ", "Thanks, see you on Monday."), ("AW: ", "Danke, alles klar."),
                                              ("RE: ", "Got it, thank you!")])
async def test_a_calm_reply_under_a_worried_subject_raises_nothing(tmp_path: Path, db_url: str, prefix: str,
                                                                   calm: str) -> None:
    settings = settings_for(tmp_path, db_url)
    drop(tmp_path / "in", client_mail(message_id="<w1@client.example>",
                                      subject="I'm terrified we will lose all our client records",
                                      body="I'm terrified we will lose all our client records in the migration on "
                                           "Monday. What happens if it fails?"))
    assert await run(settings) == {"new_concern": 1}
    [ack] = sent(tmp_path)
    assert (await the_concern(settings)).severity == "normal"
    subject = prefix + str(ack["Subject"]).removeprefix("Re: ")
    drop(tmp_path / "in", client_mail(message_id="<w2@client.example>", subject=subject,
                                      in_reply_to=str(ack["Message-ID"]), body=calm))
    assert await run(settings) == {"follow_up": 1}
    assert (await the_concern(settings)).severity == "normal"
    [row] = await query(settings, MessageRow, MessageRow.message_id == "<w2@client.example>")
    assert isinstance(row, MessageRow) and row.verdict["label"] == "none" and "new-worry" not in row.rules["hit"]


@pytest.mark.parametrize(("subject", "headers"), [
    ("Re: URGENT: charged twice, this is unacceptable", {"In-Reply-To": "<elsewhere@other.example>"}),
    ("RE: Still broken, nobody called back, this is unacceptable", {}),
    ("Re: I'm terrified we will lose all our client records", {"References": "<a@other.example> <b@other.example>"}),
])
async def test_a_calm_reply_in_no_thread_of_ours_files_nothing_from_its_subject(
        tmp_path: Path, db_url: str, subject: str, headers: dict[str, str]) -> None:
    settings = settings_for(tmp_path, db_url)
    drop(tmp_path / "in", client_mail(subject=subject, headers=headers, body="ok, thanks for letting me know"))
    assert await run(settings) == {"no_concern": 1}
    assert await query(settings, Concern) == []


@pytest.mark.servers
async def test_a_worried_reply_on_the_real_stack_raises_its_concern(mailstack: Any, db_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    empty_mailbox(mailstack, "replydesk")
    settings = Settings(
        inbox_url=f"imaps://replydesk@127.0.0.1:{mailstack.imaps_port}/INBOX", imap_password=mailstack.password,
        outbox_url=f"smtp://replydesk@127.0.0.1:{mailstack.submission_port}", smtp_password=mailstack.password,
        tls_ca_file=mailstack.ca_file, shared_address="replydesk@example.test", database_url=db_url,
        processed_keyword=f"$Done{tag}", default_owner="boss@example.test")
    clock = ManualClock(MONDAY_10)
    first = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Client <replier@example.test>", to="replydesk@example.test",
                               subject=f"Thanks for the update {tag}", message_id=first,
                               body="Thanks for the update, but the invoice is still wrong and nobody called back. "
                                    "This is unacceptable."),
                   mail_from="replier@example.test", rcpt_to=["replydesk@example.test"])
    mailstack.wait_for_message("replydesk", lambda m: m["Message-ID"] == first)
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("replier", lambda m: m["In-Reply-To"] == first)
    reply = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Client <replier@example.test>", to="replydesk@example.test",
                               subject=str(ack["Subject"]), message_id=reply, in_reply_to=str(ack["Message-ID"]),
                               body=WORRIES[0]),
                   mail_from="replier@example.test", rcpt_to=["replydesk@example.test"])
    mailstack.wait_for_message("replydesk", lambda m: m["Message-ID"] == reply)
    await Worker(settings, clock=clock).run_once()
    [concern] = [c for c in await query(settings, Concern) if tag in c.subject]
    assert concern.severity == "high"
