"""`followup demo`: seed a temporary Maildir with client mail, run the loop once, show what happened."""

from __future__ import annotations

import email
import tempfile
from datetime import UTC, datetime, time, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from service.adapters.inbox import ensure_maildir
from service.clock import ManualClock, SystemClock
from service.flows import event_reminders
from service.runtime.worker import Worker
from service.settings import Settings
from service.store import concerns, jobs, messages
from service.store.db import transaction

SAMPLES: list[tuple[str, str, str, dict[str, str]]] = [
    ("Marta Ruiz <marta@harbour-logistics.example>", "Invoice 2291 charged twice",
     "Hello,\n\nWe were charged twice for invoice 2291 and this is the third time I ask "
     "for a correction. Frankly this is unacceptable.\n\nMarta", {}),
    ("Tom Becker <tom@greenfield-dental.example>", "Go-live on Monday",
     "Hi team,\n\nI'm really worried that we won't be ready for the go-live on Monday. "
     "What happens if the data migration fails halfway?\n\nThanks,\nTom", {}),
    ("Claire Martin <claire@atelier-lumiere.example>", "Commande toujours pas livrée",
     "Bonjour,\n\nNotre commande devait arriver lundi et nous n'avons toujours rien. C'est inadmissible, "
     "nos propres clients attendent.\n\nClaire", {}),
    ("Ana Silva <ana@northwind.example>", "Thanks!",
     "Just wanted to say thank you for the quick help yesterday. All good now.\n\nAna", {}),
    ("Out of Office <lee@contoso.example>", "Automatic reply: Invoice 2291",
     "I am out of the office until Monday with limited access to email.",
     {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}),
    ("Newsletter <news@vendor.example>", "Our November product update",
     "We are furious about prices too! Big savings inside.",
     {"List-Unsubscribe": "<mailto:unsubscribe@vendor.example>", "Precedence": "bulk"}),
]


def _sample(sender: str, subject: str, body: str, extra: dict[str, str], to: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(SystemClock().now())
    msg["Message-ID"] = make_msgid(domain="demo.example")
    for name, value in extra.items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def seed(inbox: Path, shared: str) -> int:
    ensure_maildir(inbox)
    messages = [_sample(*s, to=shared) for s in SAMPLES]
    messages.append(b"From: broken\r\nSubject: =?unknown-8bit?Q?=FF?=\r\nContent-Type: multipart/mixed;"
                    b" boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain; charset=klingon\r\n\r\n"
                    b"\xff\xfe I am not happy at all, nobody called back\r\n")
    for number, raw in enumerate(messages):
        (inbox / "new" / f"1700000000.demo{number:02d}.localhost").write_bytes(raw)
    return len(messages)


async def run_demo(directory: Path | None) -> int:
    """Run the whole loop on Maildir folders and SQLite; print a tour."""
    root = directory or Path(tempfile.mkdtemp(prefix="followup-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    shared = "care@followup-demo.example"
    inbox, outbox, db = root / "inbox", root / "outbox", root / "followup.db"
    count = seed(inbox, shared)
    settings = Settings(
        inbox_url=f"maildir://{inbox}", outbox_url=f"maildir://{outbox}",
        database_url=f"sqlite+aiosqlite:///{db}", shared_address=shared,
        shared_name="Northwind client care", default_owner="owner@followup-demo.example",
        default_owner_name="Ana from client care", default_timezone="Europe/London",
        checkin_every_days=2.0,
    )
    stats = await Worker(settings).run_once()
    print(f"followup demo in {root}\n")
    print(f"seeded {count} client messages into {inbox}/new and ran `followup run --once`:")
    for decision, n in sorted(stats.outcomes.items()):
        print(f"  {decision:<13} {n}")
    print(f"  replies sent  {stats.sent} (delivered into {outbox}/new)\n")

    worker = Worker(settings)
    async with worker.sessions() as session:
        listed = await concerns.list_concerns(session)
        quarantined = await messages.list_quarantine(session)
    await worker.engine.dispose()
    print("concerns:")
    for concern, client in listed:
        print(f"  {concern.token:<6} {concern.kind:<9} {concern.severity:<7} {concern.status:<13} "
              f"{client.email}  \"{concern.subject}\"")
    for q in quarantined:
        print(f"quarantined #{q.id}: {q.reason[:100]}")
    replies = sorted((outbox / "new").iterdir())
    if replies:
        first = email.message_from_bytes(replies[0].read_bytes(), policy=policy.default)
        body = first.get_body(("plain",))
        print("\nfirst acknowledgement, as the client sees it:\n")
        for header in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted"):
            print(f"  {header}: {first[header]}")
        print()
        text = body.get_content() if body is not None else ""
        print("  " + "\n  ".join(str(text).splitlines()))
    await _fast_forward(settings, outbox)
    env = (f"FOLLOWUP_INBOX_URL=maildir://{inbox} FOLLOWUP_OUTBOX_URL=maildir://{outbox} "
           f"FOLLOWUP_DATABASE_URL=sqlite:///{db} FOLLOWUP_SHARED_ADDRESS={shared}")
    print(f"\nlook further:\n  {env} followup show C-2\n  {env} followup events list\n  ls {outbox}/new")
    return 0


async def _fast_forward(settings: Settings, outbox: Path) -> None:
    """Give Tom a go-live event, then move the clock job by job and show what goes out, and when."""
    clock = ManualClock(SystemClock().now())
    go_live = datetime.combine(clock.current.date() + timedelta(days=6), time(9, 0), tzinfo=UTC)
    worker = Worker(settings, clock=clock)
    async with transaction(worker.sessions) as session:
        await event_reminders.save_event(session, event_reminders.EventSpec(
            uid="demo-go-live", client="tom@greenfield-dental.example", title="Practice system go-live",
            type="go-live", at=go_live, place="Greenfield Dental, surgery 2",
            checklist=("Export the patient list before Friday 17:00", "Staff logins tested",
                       "Printer drivers on the reception PC")), settings, clock.current, source="demo")
    await worker.engine.dispose()
    print(f"\nTom's go-live is on {go_live:%A %d %B} (`followup events add`); moving the clock forward:\n")
    seen = {p.name for p in (outbox / "new").iterdir()}
    shown: set[str] = set()
    for _ in range(12):
        worker = Worker(settings, clock=clock)
        async with worker.sessions() as session:
            due = await jobs.next_job_due(session)
        await worker.engine.dispose()
        if due is None or due > go_live:
            break
        clock.current = max(clock.current, due) + timedelta(minutes=1)
        await Worker(settings, clock=clock).run_once()
        for path in sorted((outbox / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns):
            if path.name in seen:
                continue
            seen.add(path.name)
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            print(f"  {clock.current:%a %d %b %H:%M} UTC  to {msg['To']}: {msg['Subject']}")
            lang = str(msg["Content-Language"] or "en")
            kind = (f"written in {lang}" if lang != "en" else "check-in" if "checking in" in _plain_body(msg)
                    else "reminder" if "[#E-" in str(msg["Subject"]) else "")
            if kind and kind not in shown:
                shown.add(kind)
                print("      " + "\n      ".join(_plain_body(msg).splitlines()[:14]) + "\n")
        if {"check-in", "reminder"} <= shown:
            break


def _plain_body(msg: email.message.Message) -> str:
    body = msg.get_body(("plain",)) if isinstance(msg, EmailMessage) else None
    return str(body.get_content()) if body is not None else ""
