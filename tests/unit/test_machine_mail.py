"""Machine mail with no RFC 3834 header, as mail programs and servers send it, and the persons it must not catch."""

from __future__ import annotations

import pytest

from service.core.rules.facts import TriageContext
from service.core.triage import Action, triage
from service.detector.detect import Verdict
from service.mailformat.parse import Inbound, parse_message

COMPLAINT = Verdict("complaint", 0.9, ("x",), {"complaint": 0.9}, {"complaint": ("x",)})
CTX = TriageContext(shared_address="care@example.test", own_message_ids=frozenset(), thread_concern=None,
                    recent_auto_replies=0, auto_reply_cap=3)


def mail(subject: str, sender: str = "Lee Park <lee@client.example>", headers: str = "",
         body: str = "This is unacceptable, the invoice is wrong again.") -> Inbound:
    data = (f"From: {sender}\r\nTo: care@example.test\r\nSubject: {subject}\r\nMessage-ID: <m@client.example>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n{headers}\r\n{body}\r\n").encode()
    return parse_message(data, noreply_patterns=("noreply", "no-reply"))


# the subjects out-of-office and automatic replies carry, as Outlook/Exchange, Gmail, Sieve and others write them
AUTO_REPLY_SUBJECTS = [
    "Automatic reply: Re: Invoice 2291 [#C-14]",  # Outlook, English
    "Automatic Reply: Invoice 2291",
    "Automatische Antwort: Re: Rechnung doppelt [#C-3]",  # Outlook, German
    "Abwesenheitsnotiz: Rechnung doppelt",  # older Exchange, German
    "Abwesenheitsnotiz",
    "Automatiskt svar: Re: Faktura",  # Swedish
    "Frånvaro: Re: Faktura [#C-8]",
    "Frånvaro v. 28-32",
    "Automatisk svar: Re: Faktura",  # Danish and Norwegian
    "Fraværende til 1. juli",
    "Autosvar: Faktura",
    "Automatyczna odpowiedź: Re: Faktura",  # Polish
    "Odpowiedź automatyczna: Faktura",
    "Automatická odpověď: Re: Faktura",  # Czech
    "Resposta automática: Re: Fatura",  # Portuguese
    "Ausente: Re: Fatura [#C-2]",
    "Ausente hasta el 15 de agosto",
    "Respuesta automática: Factura duplicada",  # Spanish
    "Fuera de la oficina: Re: Factura",
    "Réponse automatique : Re: Facture [#C-5]",  # French, with its space before the colon
    "Réponse automatique d'absence : Facture",
    "Absence du bureau",
    "Automatisch antwoord: Re: Factuur",  # Dutch
    "Afwezig t/m 12 augustus",
    "Risposta automatica: Re: Fattura",  # Italian
    "Fuori sede: Fattura",
    "Automaattinen vastaus: Re: Lasku",  # Finnish
    "Автоматический ответ: Re: Счёт",  # Russian
    "Automatikus válasz: Re: Számla",  # Hungarian
    "Otomatik yanıt: Re: Fatura",  # Turkish
    "自动回复: Re: 发票",  # Chinese
    "自動応答: Re: 請求書",  # Japanese
    "Out of Office",  # Gmail and others: the owner's own subject
    "Out of Office: Invoice 2291",
    "Out of Office AutoReply: Invoice 2291",
    "Out of office until 3 May",
    "OOO until Monday",
    "Vacation reply",
    "Vacation Reply: Re: Invoice",
    "Auto: Re: Invoice 2291 [#C-9]",  # Dovecot's Sieve vacation
    "[Auto-Reply] Re: Invoice",
    "[AutoReply] Invoice 2291",
    "AutoReply: Invoice 2291",
    "Auto-Reply: Invoice 2291",
    "Auto Response",
    "  automatic   REPLY :  invoice",  # spacing and case
    "Automatic reply：Invoice",  # a fullwidth colon
]


@pytest.mark.parametrize("subject", AUTO_REPLY_SUBJECTS)
def test_an_out_of_office_subject_is_machine_mail(subject: str) -> None:
    msg = mail(subject)
    decision = triage(msg, COMPLAINT, CTX)
    assert decision.action == Action.IGNORE and "auto-reply-subject" in decision.rules.hit, msg.auto_signals


# a person's subject that starts like one, mentions one, or begins with the same word
PERSONS_SUBJECTS = [
    "Re: your automatic reply is useless, I'm furious",
    "Automatic reply is broken and nobody answers",
    "Automatically charged twice!",
    "Fwd: Automatic reply: Invoice 2291",
    "Re: Out of Office",
    "Out of patience with your service",
    "Ausente el técnico, nadie vino",
    "Afwezig: de monteur kwam niet opdagen",
    "Fraværende tekniker igen!",
    "Frånvarande tekniker, igen",
    "Absence de réponse depuis 3 semaines",
    "Ausencia de respuesta",
    "Auto: Reparatur dauert zu lange",
    "Vacation ruined by your double booking",
    "On vacation and you charged me twice",
    "OOOPS, wrong invoice again",
    "Delivery failed again!! Where is my parcel?",
    "Undelivered parcel, third time",
    "Returned mail: I never got the refund",
]


@pytest.mark.parametrize("subject", PERSONS_SUBJECTS)
def test_a_persons_subject_is_not_taken_for_a_machines(subject: str) -> None:
    msg = mail(subject)
    assert triage(msg, COMPLAINT, CTX).action == Action.NEW_CONCERN, msg.auto_signals


@pytest.mark.parametrize(("subject", "body"), [
    ("Afwezig", "Ik ben afwezig tot en met 12 augustus. Voor dringende zaken: info@client.example."),
    ("Fraværende", "Jeg er fraværende til 1. juli."),
    ("Abwesenheit", "Dies ist eine automatische Antwort. Ich bin bis zum 3. Januar nicht im Büro."),
])
def test_an_absence_word_alone_is_machine_mail_when_the_body_says_so(subject: str, body: str) -> None:
    msg = mail(subject, body=body)
    assert triage(msg, COMPLAINT, CTX).action == Action.IGNORE, msg.auto_signals


@pytest.mark.parametrize(("subject", "body"), [
    ("Abwesenheit", "Ich bin nächste Woche nicht zuhause. Darf der Nachbar das Paket annehmen? Es ist schon "
                    "das zweite Mal, dass Ihr Fahrer nicht klingelt."),
    ("Afwezig", "Ik ben volgende week op vakantie en de monteur is nog steeds niet geweest. Dit is onacceptabel."),
])
def test_an_absence_word_alone_over_a_persons_words_is_theirs(subject: str, body: str) -> None:
    # a person writes "Abwesenheit" as a whole subject too: the concern in it must be filed
    msg = mail(subject, body=body)
    assert triage(msg, COMPLAINT, CTX).action == Action.NEW_CONCERN, msg.auto_signals


@pytest.mark.parametrize("headers", [
    "X-MS-Exchange-Inbox-Rules-Loop: lee@client.example\r\n",
    "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\r\n",
    "X-MS-Exchange-Generated-Message-Source: Transport Rule Agent\r\n",
    "X-MS-Exchange-Message-Is-Ndr: \r\n",
    "X-MS-Exchange-Transport-Rules-Notification: 1\r\n",
])
def test_exchanges_agents_are_machines(headers: str) -> None:
    decision = triage(mail("Re: Invoice 2291", headers=headers), COMPLAINT, CTX)
    assert decision.action == Action.IGNORE and decision.rules.hit == ("exchange-agent",)


# plain-text bounces (no multipart/report), from the servers that send them
BOUNCES = [
    ("MAILER-DAEMON@mx.client.example (Mail Delivery System)", "Undelivered Mail Returned to Sender"),  # Postfix
    ("Mail Delivery System <Mailer-Daemon@mx.client.example>", "Mail delivery failed: returning message to sender"),
    ("Mail Delivery Subsystem <mailer-daemon@googlemail.com>", "Delivery Status Notification (Failure)"),  # Gmail
    ("Mail Delivery Subsystem <bounces@mx.client.example>", "Delivery Status Notification (Delay)"),
    ("delivery@mail.client.example", "Undelivered Mail Returned to Sender"),
    ("Delivery <delivery@mail.client.example>", "Message not delivered: Re: Invoice"),
    ("postmaster@client.example", "Undeliverable: Re: Invoice 2291"),  # Exchange
    ("Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@client.example>",
     "Undeliverable: Re: Invoice 2291"),
    ("Microsoft Outlook <postmaster@client.example>", "Unzustellbar: Re: Rechnung"),  # German Exchange
    ("Microsoft Outlook <postmaster@client.example>", "Non remis : Re: Facture"),  # French Exchange
    ("Mail Delivery System <mailer@mx.client.example>", "No se puede entregar: Re: Factura"),
    ("mailer@mx.client.example", "Onbestelbaar: Re: Factuur"),
    ("MAILER-DAEMON <MAILER-DAEMON@mx.client.example>", "Returned mail: see transcript for details"),  # Sendmail
    ("mailer-daemon@mx.client.example", "failure notice"),  # qmail
    ("Systemadministrator <bounce@mx.client.example>", "Nicht zustellbar: Rechnung"),
    ("Mail Delivery Subsystem <admin@mx.client.example>", "Доставка не удалась: сообщение не доставлено"),
]


@pytest.mark.parametrize(("sender", "subject"), BOUNCES)
def test_a_plain_text_bounce_is_machine_mail(sender: str, subject: str) -> None:
    body = ("This is the mail system at host mx.client.example.\r\n\r\nI'm sorry to have to inform you that "
            "your message could not be delivered. Unacceptable: mailbox full.")
    msg = mail(subject, sender=sender, body=body)
    decision = triage(msg, COMPLAINT, CTX)
    assert decision.action == Action.IGNORE
    assert {"bounce", "bounce-notice"} & set(decision.rules.hit), msg.auto_signals


@pytest.mark.parametrize("value", ["All", "all", " ALL ", "DR, RN, NRN, OOF, AutoReply", "dr,rn,nrn,oof,autoreply",
                                   "OOF", "AutoReply", "DR;  AutoReply", "-1", "0xFFFFFFFF", "48", "0x20"])
def test_x_auto_response_suppress_files_the_concern_and_suppresses_our_reply(value: str) -> None:
    msg = mail("Invoice 2291", headers=f"X-Auto-Response-Suppress: {value}\r\n")
    assert msg.auto_signals == ()  # a person's mail program may send it: it is no machine signal
    decision = triage(msg, COMPLAINT, CTX)
    assert decision.action == Action.NEW_CONCERN and decision.reply_template is None
    assert "reply-suppressed" in decision.rules.hit
    assert any(r.startswith("reply-suppressed") for r in decision.reasons)


@pytest.mark.parametrize("value", ["DR, RN, NRN", "NDR", "None", "", "RN", "8", "garbage"])
def test_x_auto_response_suppress_without_auto_replies_in_its_list_lets_us_answer(value: str) -> None:
    decision = triage(mail("Invoice 2291", headers=f"X-Auto-Response-Suppress: {value}\r\n"), COMPLAINT, CTX)
    assert decision.action == Action.NEW_CONCERN and decision.reply_template == "ack_complaint"


# a subject form a person could also write is a machine's when the body opens as an absence notice
@pytest.mark.parametrize(("subject", "body"), [
    ("Auto: Your order", "I am out of the office until 14 December with limited access to email."),
    ("Auto: Bestellung", "Vielen Dank für Ihre Nachricht. Ich bin bis 3. Januar nicht im Büro."),
    ("Ausente", "Estoy fuera de la oficina hasta el lunes. Para urgencias escriba a soporte."),
    ("Auto: Commande 4471", "Bonjour, je suis actuellement absente et je reviendrai le 5 janvier."),
])
def test_a_weak_form_with_an_absence_notice_is_a_machines(subject: str, body: str) -> None:
    assert "auto-reply-subject" in parse_message(
        f"From: a@client.example\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        .encode()).auto_signals


@pytest.mark.parametrize(("subject", "body"), [
    ("Auto: Reparatur dauert zu lange", "Mein Auto steht seit drei Wochen in Ihrer Werkstatt, ich bin wütend."),
    ("Ausente el técnico, nadie vino", "El técnico estuvo ausente otra vez y nadie me avisó. Estoy harta."),
])
def test_a_weak_form_over_a_persons_words_is_a_persons(subject: str, body: str) -> None:
    assert "auto-reply-subject" not in parse_message(
        f"From: a@client.example\r\nSubject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        .encode()).auto_signals
