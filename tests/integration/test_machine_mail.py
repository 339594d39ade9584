"""Machine mail without RFC 3834 headers through the real worker (Maildir, SQLite): ignored, never answered;
persons who look like it are filed and answered; X-Auto-Response-Suppress files the concern unanswered."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Concern, MessageRow, OutboxRow

from mailfactory import drop

COMPLAINT = "This is unacceptable, the invoice is wrong again and nobody called back. I am really worried."
AWAY = ("Thank you for your message. I am out of the office until 12 August with no access to email. "
        "This is unacceptable timing for the invoice problem, sorry; I am worried it will wait.")
BOUNCE = ("This is the mail system at host mx.client.example.\r\n\r\nI'm sorry to have to inform you that your "
          "message could not be delivered to one or more recipients. Unacceptable: mailbox full.\r\n\r\n"
          "<gone@client.example>: host mx.client.example said: 552 5.2.2 Mailbox full\r\n")


def raw(n: int, subject: str, body: str, *, sender: str = "Lee Park <lee@client.example>", headers: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: care@example.test\r\nSubject: {subject}\r\nMessage-ID: <m{n}@client.example>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n{headers}\r\n{body}\r\n").encode()


MACHINES = [  # (subject, body, sender, headers): none carries Auto-Submitted, Precedence or a report
    ("Automatische Antwort: Re: Rechnung [#C-1]", AWAY, "Jörg <joerg@client.example>", ""),
    ("Automatiskt svar: Re: Faktura", AWAY, "Sven <sven@client.example>", ""),
    ("Automatyczna odpowiedź: Re: Faktura", AWAY, "Ola <ola@client.example>", ""),
    ("Réponse automatique : Re: Facture", AWAY, "Zoé <zoe@client.example>", ""),
    ("Respuesta automática: Re: Factura", AWAY, "Ana <ana@client.example>", ""),
    ("Automatic reply: Re: Invoice", AWAY, "Lee <lee2@client.example>", ""),
    ("Out of Office", AWAY, "Kim <kim@client.example>", ""),
    ("[Auto-Reply] Re: Invoice", AWAY, "Max <max@client.example>", ""),
    ("Auto: Re: Invoice [#C-1]", AWAY, "Eve <eve@client.example>", ""),
    ("Afwezig t/m 12 augustus", AWAY, "Bram <bram@client.example>", ""),
    ("Re: Invoice", AWAY, "Ines <ines@client.example>", "X-MS-Exchange-Inbox-Rules-Loop: ines@client.example\r\n"),
    ("Re: Invoice", AWAY, "Otto <otto@client.example>",
     "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\r\n"),
    ("Undelivered Mail Returned to Sender", BOUNCE, "delivery@mx.client.example", ""),
    ("Delivery Status Notification (Failure)", BOUNCE, "Mail Delivery Subsystem <mailer-daemon@googlemail.com>", ""),
    ("Unzustellbar: Re: Rechnung", BOUNCE, "Microsoft Outlook <postmaster@client.example>", ""),
]
PERSONS = [  # a person's subject that mentions an automatic reply, or begins with the same word
    ("Re: your automatic reply is useless, I'm furious", COMPLAINT, "Pat <pat@client.example>", ""),
    ("Automatic reply is broken and nobody answers", COMPLAINT, "Sam <sam@client.example>", ""),
    ("Ausente el técnico, nadie vino", COMPLAINT, "Lola <lola@client.example>", ""),
    ("Delivery failed again, where is my parcel?", COMPLAINT, "Ray <ray@client.example>", ""),
]
SUPPRESSED = [  # a person's mail program asking for no automatic reply: filed, not answered
    ("Invoice wrong again", COMPLAINT, "Val <val@client.example>",
     "X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply\r\n"),
    ("Invoice wrong again", COMPLAINT, "Wes <wes@client.example>", "X-Auto-Response-Suppress: all\r\n"),
]


async def test_machine_mail_without_rfc3834_headers_is_ignored_and_persons_are_answered(tmp_path: Path) -> None:
    every = MACHINES + PERSONS + SUPPRESSED
    for n, (subject, body, sender, headers) in enumerate(every):
        drop(tmp_path / "in", raw(n, subject, body, sender=sender, headers=headers))
    settings = Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                        database_url=f"sqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test")
    await Worker(settings).run_once()
    worker = Worker(settings)
    async with worker.sessions() as s:
        rows = {r.message_id: r for r in (await s.scalars(select(MessageRow).where(MessageRow.direction == "in")))}
        answered = set((await s.scalars(select(OutboxRow.to_addr))).all())
        concerns = len((await s.scalars(select(Concern))).all())
    await worker.engine.dispose()
    decisions = {every[int(mid[2:].partition("@")[0])][0] + " / " + every[int(mid[2:].partition("@")[0])][2]:
                 (row.decision, row.reasons, row.rules) for mid, row in rows.items()}
    assert len(decisions) == len(every)
    for subject, _, sender, _ in MACHINES:
        decision, reasons, _ = decisions[f"{subject} / {sender}"]
        assert decision == "ignore" and reasons[0].startswith("auto:"), (subject, decision, reasons)
    for subject, _, sender, _ in PERSONS:
        assert decisions[f"{subject} / {sender}"][0] == "new_concern", subject
    for subject, _, sender, _ in SUPPRESSED:
        decision, reasons, rules = decisions[f"{subject} / {sender}"]
        assert decision == "new_concern" and "reply-suppressed:x-auto-response-suppress" in reasons
        assert "reply-suppressed" in rules["hit"]
    assert concerns == len(PERSONS) + len(SUPPRESSED)
    assert answered == {"pat@client.example", "sam@client.example", "lola@client.example", "ray@client.example"}
