"""Issue 19 end to end on Dovecot and Postfix: every client answered in their own language.

A French complaint gets a French acknowledgement quoting her French words and a French date; a
German worry gets German check-ins, and its owner a German digest he answers in German; a Spanish
"no me escriban más" opts its writer out, and is confirmed in Spanish; a Polish client of an account
whose language is Italian is answered in Italian.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.message import Message
from email.utils import make_msgid
from typing import Any

import pytest

from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store import clients
from service.store.db import transaction
from service.store.models import ActionItem, Client, Concern

from mailfactory import client_mail
from support import empty_mailbox, query

pytestmark = pytest.mark.servers

DESK = "langdesk"
ACCOUNTS = [
    AccountConfig(name="Atelier Martin", owner="langboss@example.test", addresses=["claire@example.test"],
                  timezone="Europe/Paris"),
    AccountConfig(name="Kasse Weber", owner="langboss@example.test", addresses=["jonas@example.test"],
                  timezone="Europe/Berlin", owner_language="de"),
    AccountConfig(name="Studio Rossi", owner="langboss@example.test", addresses=["lucia@example.test"],
                  timezone="Europe/Rome", language="it"),
]


def settings_for(stack: Any, db_url: str, accounts: list[AccountConfig] = ACCOUNTS) -> Settings:
    return Settings(
        inbox_url=f"imaps://{DESK}@127.0.0.1:{stack.imaps_port}/INBOX", imap_password=stack.password,
        outbox_url=f"smtp://{DESK}@127.0.0.1:{stack.submission_port}", smtp_password=stack.password,
        tls_ca_file=stack.ca_file, shared_address=f"{DESK}@example.test", database_url=db_url,
        processed_keyword=f"$Done{uuid.uuid4().hex[:8]}", accounts=accounts, checkin_every_days=2.0)


def body(msg: Message) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[attr-defined]


def html(msg: Message) -> str:
    return str(msg.get_body(("html",)).get_content())  # type: ignore[attr-defined]


def send(stack: Any, sender: str, subject: str, text: str, *, to: str = f"{DESK}@example.test",
         in_reply_to: str | None = None) -> str:
    mid = make_msgid(domain="example.test")
    address = sender.split("<")[1].rstrip(">")
    stack.send(client_mail(sender=sender, to=to, subject=subject, message_id=mid, body=text,
                           **({"in_reply_to": in_reply_to} if in_reply_to else {})),
               mail_from=address, rcpt_to=[to])
    stack.wait_for_message(DESK, lambda m: m["Message-ID"] == mid)
    return mid


async def test_a_french_complaint_is_acknowledged_in_french(mailstack: Any, db_url: str) -> None:
    empty_mailbox(mailstack, DESK)
    settings = settings_for(mailstack, db_url)
    clock = ManualClock(datetime(2026, 12, 3, 9, tzinfo=UTC))  # a Thursday, 10:00 in Paris
    tag = uuid.uuid4().hex[:8]
    mid = send(mailstack, "Claire Martin <claire@example.test>", f"Facture erronée {tag}",
               "Bonjour,\n\nC'est la troisième fois que votre facture est fausse. C'est inadmissible, et "
               "personne ne me rappelle malgré vos promesses.\n\nCordialement,\nClaire Martin")
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("claire", lambda m: m["In-Reply-To"] == mid)
    text = body(ack)
    assert text.startswith("Bonjour Claire,\n") and "Vous nous avez écrit :" in text
    quoted = re.findall(r"« (.+?) »", text)
    assert quoted and any("inadmissible" in q or "facture est fausse" in q for q in quoted), text
    assert all(q in "C'est la troisième fois que votre facture est fausse. C'est inadmissible, et personne ne me "
                    "rappelle malgré vos promesses." or q == f"Facture erronée {tag}" for q in quoted)
    # the promise, a day and time in French in the account's zone
    assert re.search(r"d'ici le (lundi|mardi|mercredi|jeudi|vendredi) \d{1,2} décembre, \d\d:\d\d CET", text), text
    assert "Thank you" not in text and "Dear" not in text
    assert ack["Content-Language"] == "fr" and '<html lang="fr">' in html(ack)
    [client] = await query(settings, Client, Client.email == "claire@example.test")
    assert client.lang == "fr"


async def test_a_german_worry_gets_german_checkins_and_its_owner_a_german_digest(
        mailstack: Any, db_url: str) -> None:
    empty_mailbox(mailstack, DESK)
    settings = settings_for(mailstack, db_url)
    clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC))  # a Monday, 10:00 in Berlin
    tag = uuid.uuid4().hex[:8]
    mid = send(mailstack, "Jonas Weber <jonas@example.test>", f"Umstellung der Kasse {tag}",
               "Guten Tag,\n\nich mache mir ehrlich gesagt große Sorgen, dass die Umstellung der Kasse am Montag "
               "schiefgeht und wir dann am Wochenende nichts verkaufen können.\n\nViele Grüße\nJonas Weber")
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("jonas", lambda m: m["In-Reply-To"] == mid)
    assert body(ack).startswith("Guten Tag Jonas,\n") and "„" in body(ack)
    token = str(ack["Subject"]).rsplit("[#", 1)[1].rstrip("]")

    async def at(*when: int) -> None:
        clock.current = datetime(*when, tzinfo=UTC)  # type: ignore[misc]
        await Worker(settings, clock=clock).run_once()

    # no plan in time: escalated; the owner's alert (or, were it not urgent, his 08:30 digest) is in German
    await at(2026, 11, 24, 9, 5)
    await at(2026, 11, 25, 7, 31)
    digest = mailstack.wait_for_message("langboss", lambda m: token in body(m) and tag in body(m))
    assert re.fullmatch(r"Dringend: 1 Anliegen braucht jetzt einen Maßnahmenplan|Übersicht Mittwoch, 25\. "
                        r"November 2026: 1 Anliegen braucht einen Maßnahmenplan", str(digest["Subject"]))
    text = body(digest)
    assert "Sorge" in text and "Wartezeit" in text and "So antworten Sie" in text
    assert "dass die Umstellung der Kasse am Montag schiefgeht" in text  # his words, as he wrote them
    # the owner answers in German
    answer = make_msgid(domain="example.test")
    mailstack.send(client_mail(sender="Chef <langboss@example.test>", to=str(digest["Reply-To"]),
                               subject=f"AW: {digest['Subject']}", message_id=answer,
                               in_reply_to=str(digest["Message-ID"]),
                               body=f"{token}: Techniker prüft die Kasse vor Ort bis Freitag 15 Uhr"),
                   mail_from="langboss@example.test", rcpt_to=[str(digest["Reply-To"])])
    mailstack.wait_for_message(DESK, lambda m: m["Message-ID"] == answer)
    await at(2026, 11, 25, 7, 40)
    confirmation = mailstack.wait_for_message("langboss", lambda m: m["In-Reply-To"] == answer)
    assert body(confirmation).startswith(f"Übernommen:\n  - {token} Nr. 1: Techniker prüft die Kasse vor Ort "
                                         "(zuständig langboss@example.test, fällig Freitag, 27. November, 15:00 CET)")
    [item] = await query(settings, ActionItem, ActionItem.concern_id == int(token.removeprefix("C-")))
    assert item.text == "Techniker prüft die Kasse vor Ort" and item.due_at == datetime(2026, 11, 27, 14, tzinfo=UTC)

    # the check-in, due two working days after the acknowledgement and held a day after the owner's plan,
    # in German with the plan's German date
    def checkins() -> list[Message]:
        return [m for m in mailstack.messages("jonas") if tag in str(m["Subject"]) and "melden uns" in body(m)]

    await at(2026, 11, 25, 9, 5)
    await at(2026, 11, 26, 9, 5)
    checkin = mailstack.wait_for_message("jonas", lambda m: tag in str(m["Subject"]) and "melden uns" in body(m))
    text = body(checkin)
    assert text.startswith("Guten Tag Jonas,\n")
    assert "Geplant: Techniker prüft die Kasse vor Ort, bis Freitag, 27. November" in text, text
    assert checkin["Content-Language"] == "de" and "stop" in text
    # and the next one, too
    for day in (27, 30):
        await at(2026, 11, day, 9, 10)
    await at(2026, 12, 1, 9, 10)
    mailstack.wait_for_message("jonas", lambda m: len(checkins()) >= 2)
    assert "Noch offen:" in body(checkins()[-1]) or "überfällig" in body(checkins()[-1])


async def test_a_spanish_request_to_stop_opts_out_and_is_confirmed_in_spanish(mailstack: Any, db_url: str) -> None:
    empty_mailbox(mailstack, DESK)
    settings = settings_for(mailstack, db_url, [
        AccountConfig(name="Tienda", owner="langboss@example.test", addresses=["lucia@example.test"],
                      timezone="Europe/Madrid")])
    clock = ManualClock(datetime(2026, 12, 3, 9, tzinfo=UTC))
    tag = uuid.uuid4().hex[:8]
    mid = send(mailstack, "Lucía Gómez <lucia@example.test>", f"Sus correos {tag}",
               "Hola,\n\npor favor, no me escriban más.\n\nGracias,\nLucía")
    await Worker(settings, clock=clock).run_once()
    [client] = await query(settings, Client, Client.email == "lucia@example.test")
    assert client.opted_out_at is not None and client.lang == "es"
    confirmation = mailstack.wait_for_message("lucia", lambda m: m["In-Reply-To"] == mid)
    assert body(confirmation).startswith("Hola, Lucía:\n") and "Tal como nos pidió" in body(confirmation)
    assert not await query(settings, Concern, Concern.client_id == client.id)


async def test_a_language_without_templates_gets_the_accounts_language(mailstack: Any, db_url: str) -> None:
    empty_mailbox(mailstack, DESK)
    settings = settings_for(mailstack, db_url)
    clock = ManualClock(datetime(2026, 11, 23, 9, tzinfo=UTC))  # a Monday
    tag = uuid.uuid4().hex[:8]
    mid = send(mailstack, "Lucia Nowak <lucia@example.test>", f"Invoice {tag}",
               "This is the third time the invoice is wrong and nobody calls me back. Unacceptable.")
    await Worker(settings, clock=clock).run_once()
    ack = mailstack.wait_for_message("lucia", lambda m: m["In-Reply-To"] == mid)
    assert body(ack).startswith("Dear Lucia,") and ack["Content-Language"] == "en"
    # she asks to be written to in Polish, which has no templates: her account's language, Italian, is used
    worker = Worker(settings, clock=clock)
    async with transaction(worker.sessions) as session:
        await clients.set_language(session, "lucia@example.test", "pl")
    await worker.engine.dispose()
    for day in (25, 26, 27, 30):
        clock.current = datetime(2026, 11, day, 9, 5, tzinfo=UTC)
        await Worker(settings, clock=clock).run_once()
    checkin = mailstack.wait_for_message("lucia", lambda m: tag in str(m["Subject"]) and m["In-Reply-To"] != mid)
    assert body(checkin).startswith("Gentile Lucia,\n") and "Le scriviamo per aggiornarLa" in body(checkin)
    assert checkin["Content-Language"] == "it"
