"""What the worker decides about mail in the shapes real people and real programs send (issue 17).

A reviewer's set, written apart from the code it checks: raw messages as mail programs, list
servers and relays write them, run through the real worker on Maildir folders and a real
database, and judged by what the store and the outbox say afterwards. The promise under test:
no concern is lost, nobody is written to who should not be, and machine mail is not answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import select

from service.runtime.worker import Worker
from service.settings import Settings
from service.store.models import Client, Concern, MessageRow, OutboxRow

from mailfactory import drop
from support import maildir_settings, sent

SHARED = "care@example.test"


def raw(headers: Iterable[tuple[str, str]], body: str) -> bytes:
    """A message as a mail program writes it: headers in order, CRLF, UTF-8 body."""
    lines = [f"{name}: {value}" for name, value in headers]
    have = {name.lower() for name, _ in headers}
    if "mime-version" not in have:
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                  "Content-Transfer-Encoding: 8bit"]
    if "date" not in have:
        lines.append("Date: Tue, 01 Dec 2026 09:14:02 +0100")
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def settings_for(folders: tuple[Path, Path], db_url: str, **kw: object) -> Settings:
    return maildir_settings(folders, db_url, fetch_batch=50, **kw)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "outbox"



def recipients(outbox: Path) -> list[str]:
    return sorted(a.addr_spec.lower() for m in sent(outbox) for a in m["To"].addresses)


class Store:
    """What the worker wrote, read back after its run."""

    def __init__(self, concerns: list[tuple[str, str, str]], clients: dict[str, bool],
                 inbound: dict[str, MessageRow], outbox: list[tuple[str, str]]) -> None:
        self.concerns = concerns  # (client email, kind, severity)
        self.opted_out = clients  # client email -> opted out now
        self.inbound = inbound  # Message-ID -> its row (the first, when one is reused)
        self.outbox = outbox  # (to, purpose)

    def decisions(self) -> dict[str, tuple[str, list[str]]]:
        """Message-ID -> what was decided and why: the assertion messages say it."""
        return {mid: (row.decision, list(row.reasons)) for mid, row in self.inbound.items()}

    def concerns_of(self, email: str) -> list[tuple[str, str, str]]:
        return [c for c in self.concerns if c[0] == email]


async def run(settings: Settings) -> Store:
    await Worker(settings).run_once()
    worker = Worker(settings)
    try:
        async with worker.sessions() as s:
            concerns = [(e, k, sev) for e, k, sev in (await s.execute(
                select(Client.email, Concern.kind, Concern.severity).join(Client, Client.id == Concern.client_id)
                .order_by(Concern.id))).all()]
            clients = {e: o is not None for e, o in (await s.execute(select(Client.email, Client.opted_out_at))).all()}
            inbound: dict[str, MessageRow] = {}
            for row in (await s.scalars(select(MessageRow).where(MessageRow.direction == "in")
                                        .order_by(MessageRow.id))).all():
                inbound.setdefault(row.message_id, row)
            outbox = [(t, p) for t, p in (await s.execute(select(OutboxRow.to_addr, OutboxRow.purpose)
                                                         .order_by(OutboxRow.id))).all()]
    finally:
        await worker.engine.dispose()
    return Store(concerns, clients, inbound, outbox)


def person(sender: str, subject: str, body: str, mid: str, *extra: tuple[str, str]) -> bytes:
    return raw([("From", sender), ("To", f"Client Care <{SHARED}>"), ("Subject", subject),
                ("Message-ID", mid), *extra], body)


# -- 1. "stop" inside a complaint -----------------------------------------------------------------

COMPLAINTS_WITH_STOP = [
    ("Dana Reyes <dana@reyes-family.example>", "Card charged twice",
     "Please stop charging my card twice! I am furious. This is the second month in a row."),
    ("Piotr Nowak <p.nowak@firma.example>", "Invoices",
     "Stop sending me invoices for services I cancelled in August. I have written three times "
     "and nobody answers, this is unacceptable."),
    ("Lena Berg <lena.berg@mail.example>", "driver",
     "Remove me from the Tuesday delivery schedule, your driver was rude to my mother and "
     "left the gate open. I am very upset."),
    ("Hugo Martin <hugo@martin-immo.example>", "Stop",
     "The boiler you replaced on Monday has broken down again. We have no heating and no hot water, "
     "the children are cold and nobody picks up the phone. I'm really angry."),
    ("Grace Obi <grace.obi@obi.example>", "Billing again",
     "No more of these billing errors please, I am really worried I will not be able to pay my rent "
     "if you take the money twice again."),
    ("Sam Keller <sam@keller.example>", "STOP THE CALLS",
     "Stop calling me at 7am every single day about the overdue balance, I already paid it and sent "
     "you the receipt. It is harassment and I am fed up."),
]


async def test_stop_inside_a_complaint_files_the_concern_and_silences_no_one(
        folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    for n, (sender, subject, body) in enumerate(COMPLAINTS_WITH_STOP):
        drop(inbox, person(sender, subject, body, f"<stop{n}@mua.example>"))
    store = await run(settings_for(folders, db_url))
    for sender, _, _ in COMPLAINTS_WITH_STOP:
        address = sender.split("<")[1].rstrip(">")
        assert len(store.concerns_of(address)) == 1, (address, store.decisions())
        assert store.opted_out.get(address) is False, address
        assert address in recipients(outbox), f"{address} was not acknowledged"


async def test_a_plain_request_to_stop_is_an_opt_out_confirmed_once(
        folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    settings = settings_for(folders, db_url)
    drop(inbox, person("Ada <ada@quiet.example>", "Re: your emails", "Please stop emailing me.\n\nAda",
                       "<q1@quiet.example>"))
    drop(inbox, person("Ben <ben@quiet.example>", "unsubscribe", "", "<q2@quiet.example>"))
    store = await run(settings)
    assert store.opted_out == {"ada@quiet.example": True, "ben@quiet.example": True}
    assert store.concerns == []
    assert recipients(outbox) == ["ada@quiet.example", "ben@quiet.example"]  # one confirmation each
    drop(inbox, person("Ada <ada@quiet.example>", "stop", "STOP", "<q3@quiet.example>"))
    await run(settings)
    assert recipients(outbox) == ["ada@quiet.example", "ben@quiet.example"]  # not a second one


async def test_a_complaint_that_also_opts_out_reaches_the_owner_and_nothing_automatic_goes_out(
        folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    drop(inbox, person("Ruth <ruth@kite.example>", "Refund",
                       "My refund still has not arrived after six weeks and I am furious about it. "
                       "And unsubscribe me from your automated emails, I only want a human to answer.",
                       "<r1@kite.example>"))
    store = await run(settings_for(folders, db_url))
    assert len(store.concerns_of("ruth@kite.example")) == 1
    assert store.opted_out["ruth@kite.example"] is True
    # the confirmation of the opt-out is the only automatic mail she gets
    assert [p for t, p in store.outbox if t == "ruth@kite.example"] != [] and all(
        p != "ack" for t, p in store.outbox if t == "ruth@kite.example")


async def test_writing_again_after_an_opt_out_lifts_it(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    settings = settings_for(folders, db_url)
    drop(inbox, person("Omar <omar@lift.example>", "unsubscribe", "unsubscribe", "<l1@lift.example>"))
    assert (await run(settings)).opted_out["omar@lift.example"] is True
    drop(inbox, person("Omar <omar@lift.example>", "Broken washing machine",
                       "The washing machine you delivered leaks all over the kitchen floor. "
                       "I am really disappointed, nobody came to fix it.", "<l2@lift.example>"))
    store = await run(settings)
    assert store.opted_out["omar@lift.example"] is False
    assert len(store.concerns_of("omar@lift.example")) == 1
    assert ("omar@lift.example", "ack") in store.outbox


# -- 2. relayed by a group or a list ----------------------------------------------------------------

async def test_a_google_group_rewrite_files_the_authors_concern(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    drop(inbox, raw([
        ("Return-Path", "<care+bncBDY3@example.test>"),
        ("From", "'Marta Silva' via Client Care <care@example.test>"),
        ("Reply-To", "Marta Silva <marta.silva@correio.example>"),
        ("To", "Client Care <care@example.test>"),
        ("Subject", "Shipment lost - third time"),
        ("Message-ID", "<CAF=gm1@mail.gmail.example>"),
        ("X-Original-From", "Marta Silva <marta.silva@correio.example>"),
        ("X-Original-Sender", "marta.silva@correio.example"),
        ("Precedence", "list"),
        ("Mailing-list", "list care@example.test; contact care+owners@example.test"),
        ("List-ID", "<care.example.test>"),
        ("X-Google-Group-Id", "812736451"),
        ("List-Post", "<https://groups.google.example/a/example.test/group/care/post>, <mailto:care@example.test>"),
        ("List-Unsubscribe", "<mailto:care+unsubscribe@example.test>"),
    ], "Hello,\n\nMy shipment has been lost for the third time this month. I am really angry "
       "and worried the medicine inside will not arrive before my mother runs out.\n\nMarta"))
    store = await run(settings_for(folders, db_url))
    assert [c[0] for c in store.concerns] == ["marta.silva@correio.example"]
    assert recipients(outbox) == ["marta.silva@correio.example"]


async def test_a_clients_own_mailman_list_copying_us_is_the_client(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    drop(inbox, raw([
        ("Return-Path", "<ops-bounces@lists.acme-clients.example>"),
        ("From", "Tom Baker <tom.baker@acme-clients.example>"),
        ("To", "ops@lists.acme-clients.example"),
        ("Cc", SHARED),
        ("Subject", "[Ops] Outage again this morning"),
        ("Message-ID", "<5f1e.tom@acme-clients.example>"),
        ("X-BeenThere", "ops@lists.acme-clients.example"),
        ("X-Mailman-Version", "3.3.9"),
        ("Precedence", "list"),
        ("List-Id", "Operations <ops.lists.acme-clients.example>"),
        ("List-Post", "<mailto:ops@lists.acme-clients.example>"),
        ("List-Unsubscribe", "<mailto:ops-leave@lists.acme-clients.example>"),
        ("Sender", "\"Ops\" <ops-bounces@lists.acme-clients.example>"),
    ], "Team, and care@ in copy:\n\nThe portal was down again from 6 to 9 this morning, the third outage "
       "this week. Our staff could not work and we are losing customers. This is unacceptable.\n\nTom"))
    store = await run(settings_for(folders, db_url))
    assert [c[0] for c in store.concerns] == ["tom.baker@acme-clients.example"]
    assert "ops@lists.acme-clients.example" not in recipients(outbox)


async def test_a_newsletter_through_a_list_is_still_not_a_client(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    drop(inbox, raw([
        ("From", "ShopCo News <news@mailer.shopco.example>"),
        ("To", SHARED),
        ("Subject", "Worried about winter? Our heating deals end tonight!"),
        ("Message-ID", "<nl-88123@mailer.shopco.example>"),
        ("Precedence", "bulk"),
        ("List-Unsubscribe", "<mailto:unsub-88123@mailer.shopco.example>"),
        ("List-Id", "ShopCo offers <offers.shopco.example>"),
    ], "Don't get caught in the cold! Frustrated with high bills? Our deals end tonight."))
    store = await run(settings_for(folders, db_url))
    assert store.concerns == [] and sent(outbox) == []


# -- 3. nothing dropped silently ---------------------------------------------------------------------

async def test_a_reused_message_id_on_different_mail_is_stored(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, _ = folders
    settings = settings_for(folders, db_url)
    drop(inbox, person("Ivy <ivy@one.example>", "Order late", "My order is two weeks late and I am angry.",
                       "<1234@localhost>"))
    await run(settings)
    # another client's broken mailer reuses the same Message-ID
    drop(inbox, person("Jon <jon@two.example>", "Damaged parcel",
                       "The parcel arrived crushed and the vase inside is broken. I am very disappointed.",
                       "<1234@localhost>"))
    # and the first message arrives a second time through another route
    drop(inbox, person("Ivy <ivy@one.example>", "Order late", "My order is two weeks late and I am angry.",
                       "<1234@localhost>", ("Received", "from relay2.one.example by mx.example.test")))
    store = await run(settings)
    assert sorted(c[0] for c in store.concerns) == ["ivy@one.example", "jon@two.example"]


async def test_raw_utf8_headers_are_read_as_utf8(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    drop(inbox, person("Renée Faßbender <renee@bücher.example>", "Lieferung fehlt – Rechnung doppelt",
                       "I was charged twice and the delivery never came. I am really upset.",
                       "<u8@bücher.example>"))
    store = await run(settings_for(folders, db_url))
    assert [c[0] for c in store.concerns] == ["renee@bücher.example"]
    [ack] = sent(outbox)
    assert "Renée" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_worry_in_a_threaded_reply_is_read_from_its_body(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    settings = settings_for(folders, db_url)
    drop(inbox, person("Kim <kim@thread.example>", "Invoice question",
                       "Your invoice for November is wrong, you charged me for two months. Very annoying.",
                       "<k1@thread.example>"))
    await run(settings)
    [ack] = sent(outbox)
    drop(inbox, raw([("From", "Kim <kim@thread.example>"), ("To", SHARED), ("Subject", f"Re: {ack['Subject']}"),
                     ("Message-ID", "<k2@thread.example>"), ("In-Reply-To", ack["Message-ID"]),
                     ("References", f"<k1@thread.example> {ack['Message-ID']}")],
                    "I'm really scared now. The bank says my account will be frozen on Friday and I won't "
                    "be able to pay for my son's medication. Please, what happens next?\n\n"
                    f"On Tue, 1 Dec 2026 at 09:20, Client Care <{SHARED}> wrote:\n> Thank you for writing."))
    store = await run(settings)
    assert store.concerns_of("kim@thread.example") == [("kim@thread.example", "complaint", "high")]


# -- 4. machine mail without RFC 3834 headers ---------------------------------------------------------

OOO_SUBJECTS = [
    "Automatische Antwort: Your order", "Abwesenheitsnotiz: Ihre Bestellung", "Automatiskt svar: Din order",
    "Automatisk svar: Din ordre", "Automatyczna odpowiedź: Zamówienie", "Automatická odpověď: Objednávka",
    "Resposta automática: Encomenda", "Respuesta automática: Pedido", "Réponse automatique : Commande",
    "Automatisch antwoord: Bestelling", "Risposta automatica: Ordine", "[Auto-Reply] Your order",
    "Vacation reply", "Auto: Your order", "Automatic reply: Your order", "Out of Office: Your order",
]


async def test_out_of_office_replies_in_many_languages_get_no_answer(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    for n, subject in enumerate(OOO_SUBJECTS):
        drop(inbox, person(f"Away {n} <away{n}@ooo.example>", subject,
                           "I am out of the office until 14 December with no access to email. For urgent "
                           "matters please contact my colleague. This is frustrating timing, sorry!",
                           f"<ooo{n}@ooo.example>"))
    drop(inbox, person("Rules <rules@exch.example>", "FW: Your order", "I am angry about the late order.",
                       "<loop1@exch.example>", ("X-MS-Exchange-Inbox-Rules-Loop", "rules@exch.example")))
    drop(inbox, raw([("From", "Mail Delivery System <delivery@relay.example>"), ("To", SHARED),
                     ("Subject", "Undeliverable: Your order"), ("Message-ID", "<b1@relay.example>")],
                    "Delivery has failed to these recipients or groups:\n\nbad@nowhere.example\n"
                    "The email address you entered couldn't be found. This is a serious problem."))
    drop(inbox, raw([("From", "postmaster@mx.other.example"), ("To", SHARED),
                     ("Subject", "Returned mail: see transcript for details"), ("Message-ID", "<b2@mx.other.example>")],
                    "The original message was received but could not be delivered: user unknown. Angry."))
    store = await run(settings_for(folders, db_url))
    assert sent(outbox) == [], (recipients(outbox), store.decisions())


async def test_x_auto_response_suppress_silences_the_reply_not_the_concern(
        folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    drop(inbox, person("Nia <nia@corp.example>", "Broken laptop delivered",
                       "The laptop you delivered last week does not turn on. I am furious, we needed it for "
                       "a client meeting and nobody answers the phone.", "<x1@corp.example>",
                       ("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")))
    store = await run(settings_for(folders, db_url))
    assert [c[0] for c in store.concerns] == ["nia@corp.example"]
    assert sent(outbox) == []


# -- 8. not a weapon --------------------------------------------------------------------------------

async def test_a_reply_to_elsewhere_is_not_acknowledged(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    for n in range(5):
        drop(inbox, person(f"Mallory <mallory{n}@evil.example>", "Your account is suspended: http://phish.example",
                           "I am furious, nobody answers. Click http://phish.example to restore it.",
                           f"<m{n}@evil.example>", ("Reply-To", f"victim{n}@target{n}.example")))
    drop(inbox, person("Ana <ana@client.example>", "Charged twice", "I was charged twice, this is unacceptable.",
                       "<a1@client.example>", ("Reply-To", "Ana Accounts <accounts@billing.client.example>")))
    store = await run(settings_for(folders, db_url))
    assert len(store.concerns) == 6  # every complaint is still filed
    got = recipients(outbox)
    assert not [r for r in got if "target" in r], got
    assert "accounts@billing.client.example" in got  # a Reply-To in the sender's own organisation is fine


async def test_plus_and_case_variants_share_one_mailbox_cap(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    senders = ["victim+1@target.example", "VICTIM+2@Target.Example", "victim+3@target.example.",
               "victim@mail.target.example", "victim+5@target.example", "Victim@target.example"]
    for n, address in enumerate(senders):
        drop(inbox, person(f"V <{address}>", f"Complaint {n}", "The delivery was late again, I'm very angry.",
                           f"<v{n}@target.example>"))
    await run(settings_for(folders, db_url, auto_reply_cap=3))
    assert len(sent(outbox)) <= 3


# -- 9. floods ---------------------------------------------------------------------------------------

async def test_a_flood_from_one_client_is_one_concern(folders: tuple[Path, Path], db_url: str) -> None:
    inbox, outbox = folders
    for n in range(40):
        drop(inbox, person("Flo <flo@flood.example>", f"URGENT complaint {n}",
                           f"This is complaint {n}. The parcel is lost again and nobody answers. I am furious.",
                           f"<flood{n}@flood.example>"))
    store = await run(settings_for(folders, db_url))
    assert len(store.concerns_of("flo@flood.example")) == 1, store.decisions()
    flo = [row for row in store.inbound.values() if row.from_addr == "flo@flood.example"]
    assert len(flo) == 40 and len({row.concern_id for row in flo}) == 1 and flo[0].concern_id is not None
    assert [to for to, purpose in store.outbox if purpose == "ack"] == ["flo@flood.example"]
    assert len(sent(outbox)) == 1
