"""Issue 17 point 1: "stop" is an opt-out only when our mail is what is to stop; in seven languages.

The reader (service/core/stop_request.py) is asked of whole texts as clients write them: requests
whose object is our mail, bare requests, and complaints whose "stop", "remove me" or "no more" is
about something else (charging, invoices, deliveries, calls, the noise), which stay complaints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.core import letters
from service.core.stop_request import asks_to_stop, says_only_stop, stop_requested
from service.mailformat.parse import parse_message
from service.mailformat.replies import has_reply_prefix, is_reply, strip_reply_prefixes

# (text, subject): asks us to stop our mail, whatever else the message carries
OPT_OUTS = [
    ("stop", ""), ("STOP", "Re: checking in"), ("Stop.", ""), ("stop!!!!!!", ""), ("unsubscribe", ""),
    ("", "unsubscribe"), ("", "Unsubscribe me"), ("Unsubscribe\n\nSent from my iPhone", ""),
    ("Please stop these emails, I'm fine.", ""), ("Can you remove me from these updates?", ""),
    ("Please remove me from your mailing list.", ""), ("Take me off your list please", ""),
    ("Please take me off this email list", ""), ("PLEASE STOP EMAILING ME", ""), ("Stop sending me emails", ""),
    ("Please stop sending me these reminders, I have paid already.", ""), ("Please don't email me again.", ""),
    ("Do not contact me anymore.", ""), ("I no longer wish to receive your emails.", ""),
    ("I do not want to receive any further emails from you.", ""), ("Don't send me any more reminders", ""),
    ("I don't want any more check-ins, thanks", ""), ("No more emails please", ""), ("Opt me out", ""),
    ("I want to opt out of these emails", ""), ("How do I unsubscribe?", ""), ("Please unsubscribe me from this list.", ""),
    ("Could you please stop the automatic emails?", ""), ("Stop it with the emails already", ""),
    ("Kindly remove my email from your mailing list.", ""), ("Remove my email address from your system", ""),
    ("I'd like to stop receiving these messages", ""), ("Would you please stop sending me notifications", ""),
    ("Hi Mia,\n\nplease stop sending me these check-ins.\n\nThanks,\nAna", ""), ("Stop spamming me", ""),
    ("Enough emails!", ""), ("Can you stop the check-ins? Everything is sorted.", ""),
    ("Please stop sending me\nemails about this, it is sorted.", ""),  # hard-wrapped by the mail program
    # de
    ("Bitte keine E-Mails mehr.", ""), ("Keine weiteren E-Mails bitte", ""), ("Ich möchte keine E-Mails mehr erhalten.", ""),
    ("Ich will keine Newsletter mehr", ""), ("Bitte abmelden", ""), ("Abmelden", ""), ("STOPP", ""),
    ("Bitte melden Sie mich vom Newsletter ab.", ""), ("Hören Sie auf, mir E-Mails zu schicken!", ""),
    ("Schicken Sie mir keine Nachrichten mehr", ""), ("Bitte entfernen Sie mich aus Ihrem Verteiler.", ""),
    ("Bitte tragen Sie mich aus dem Verteiler aus", ""), ("Ich möchte mich abmelden.", ""),
    ("Bitte nicht mehr anschreiben.", ""),
    # fr
    ("Désabonnez-moi s'il vous plaît", ""), ("Arrêtez de m'envoyer des e-mails.", ""), ("Plus de mails svp", ""),
    ("Je ne veux plus recevoir vos courriels.", ""), ("Je ne souhaite plus recevoir vos messages", ""),
    ("Merci de ne plus m'envoyer de messages.", ""), ("Merci de me retirer de votre liste", ""),
    ("Retirez-moi de votre liste de diffusion", ""), ("Veuillez me désinscrire de votre liste de diffusion", ""),
    ("Je souhaite me désinscrire.", ""), ("Arrêtez les relances svp", ""),
    # es
    ("Dejen de enviarme correos, por favor.", ""), ("No quiero recibir más correos.", ""), ("Baja", ""),
    ("Quiero darme de baja de su lista de correo.", ""), ("No me envíen más mensajes", ""),
    ("No me manden más correos", ""), ("Quítenme de la lista", ""), ("No más correos por favor", ""),
    ("Por favor, elimínenme de su lista de correos", ""),
    # nl
    ("Graag afmelden", ""), ("Ik wil geen e-mails meer ontvangen.", ""), ("Stop met het sturen van e-mails.", ""),
    ("Verwijder mij van de mailinglijst", ""), ("Stuur mij geen berichten meer", ""), ("Meld mij af aub", ""),
    ("Geen mails meer graag", ""), ("Ik wil me graag afmelden voor deze mails", ""), ("Gelieve mij uit te schrijven", ""),
    # it
    ("Smettete di inviarmi email", ""), ("Non voglio più ricevere messaggi", ""), ("Cancellatemi dalla lista", ""),
    ("Disiscrivimi per favore", ""), ("Basta con queste email!", ""), ("Non inviatemi più email", ""),
    ("Vi prego di cancellarmi dalla vostra mailing list", ""),
    # pt
    ("Parem de me enviar e-mails", ""), ("Não quero receber mais mensagens", ""), ("Descadastrar", ""),
    ("Removam-me da lista por favor", ""), ("Chega de e-mails!", ""), ("Não me enviem mais mensagens", ""),
    ("Quero cancelar a minha inscrição", ""),
    ("退订", ""), ("Remove", ""), ("REMOVE please", ""), ("STOP STOP STOP", ""),
    ("I'd rather not get these emails anymore", ""), ("Please cease all communication", ""),
    ("I would prefer not to receive these", ""), ("Please stop with the reminders", ""),
    ("Why do you keep emailing me? Stop!", ""), ("Merci de cesser tout envoi", ""), ("Stop aux mails !", ""),
    ("Je ne veux plus de vos mails", ""), ("Bitte streichen Sie mich von Ihrer Liste", ""), ("Hou op met mailen", ""),
    ("Por favor no me escriban más", ""),
]

# (text, subject): a bare request ("stop", "remove me"): an opt-out when the message carries no concern
BARE = [("Please stop, I'm fine.", ""), ("Stop it.", ""), ("Ok, stop", ""), ("I'm not interested, please remove me.", ""),
        ("", "Stop"), ("No more of these, please.", ""), ("Stop!", "Re: Checking in on C-4")]

# (text, subject): a concern (the detector finds one) whose "stop" is about something else: not an opt-out
COMPLAINTS = [
    ("Please stop charging my card twice! I am furious.", "Charged twice"),
    ("Stop sending me invoices for services I cancelled", ""),
    ("Remove me from the Tuesday delivery schedule, your driver was rude", ""),
    ("The boiler is broken again and nobody came. This is unacceptable.", "Stop"),
    ("No more of these billing errors please, I am really worried", ""),
    ("Stop! The boiler is broken again and nobody came.", ""),
    ("STOP. Your technician flooded our kitchen and left.", ""),
    ("The leak won't stop and water is everywhere!", ""),
    ("Why did the service stop working yesterday?", ""),
    ("Please stop calling me at work.", ""), ("Stop the noise at night, it's unbearable!", ""),
    ("You need to stop overcharging us.", ""), ("I want you to stop ignoring my calls.", ""),
    ("How do I unsubscribe from the premium plan? You charged me again.", ""),
    ("Unsubscribe me from the gym membership, you keep charging me", ""),
    ("I don't receive your emails anymore, is something wrong?", ""),
    ("Please stop, the pipe burst again and the kitchen is flooded!", ""),
    ("Stop it. I'm worried sick about the payroll.", ""),
    ("No more excuses, fix the heating today!", ""), ("No more delays please, the move is on Friday!", ""),
    ("Can you remove the late fee from my invoice?", ""),
    ("Stop sending the invoices to my old address", ""), ("Stop sending me the wrong parts!", ""),
    ("I want to cancel my subscription, you keep charging me", ""),
    ("Please remove me as the contact for the account, use John instead", ""),
    ("Ich bekomme keine E-Mails mehr von Ihnen.", ""), ("Es gab keine Nachricht von Ihnen seit Montag!", ""),
    ("Hören Sie auf, mir Rechnungen zu schicken!", ""), ("Keine Rechnungen mehr per Post bitte", ""),
    ("Ich möchte mich vom Yoga-Kurs abmelden, der Lehrer war unhöflich", ""),
    ("Arrêtez de me facturer deux fois !", ""), ("Plus de nouvelles depuis lundi, je suis inquiet.", ""),
    ("Je voudrais me désinscrire du cours de yoga, c'est inadmissible", ""),
    ("Dejen de cobrarme dos veces.", ""), ("La presión está muy baja.", ""), ("Quiero darme de baja del gimnasio", ""),
    ("Parem de me cobrar!", ""), ("Smettete di addebitarmi il servizio!", ""),
    ("Stop met het sturen van facturen.", ""), ("Stuur mij geen facturen meer", ""),
    ("Stop ignoring my emails! I am furious.", ""), ("Stop losing my messages, this is the third time.", ""),
    ("You keep sending me wrong invoices. Stop!", ""), ("Arrêtez d'ignorer mes e-mails, c'est inadmissible !", ""),
    ("Hören Sie auf, meine E-Mails zu ignorieren!", ""), ("Parem de ignorar meus e-mails!", ""),
    ("Stop met het negeren van mijn mails!", ""),
]

# (text, subject): nothing of the kind, and no concern either
NEITHER = [
    ("We need the works to stop at 6pm because of the neighbours, can you tell the crew?", ""),
    ("Thanks for the update.", ""), ("Can you stop by tomorrow to look at the heater?", ""),
    ("Please take me off the waiting list, I found another provider.", ""),
    ("Ich muss mein Auto abmelden, bitte helfen Sie.", ""),
    ("Don't stop the work, we need it done by Friday.", ""),
    ("Stop the delivery for next week, I'm on holiday", ""), ("Please drop me a line when it's fixed", ""),
    ("Stop bothering, I'll fix it myself", ""), ("I never asked to be unsubscribed", ""),
    ("If you no longer wish to receive these emails, click here.", ""),
    ("See https://example.com/unsubscribe?id=42 for the old newsletter", ""),
    ("Thanks, see you on Monday.", "Re: Stop"),
]


@pytest.mark.parametrize(("text", "subject"), OPT_OUTS)
def test_a_request_to_stop_our_mail_is_an_opt_out_with_or_without_a_concern(text: str, subject: str) -> None:
    assert asks_to_stop(text, subject) and asks_to_stop(text, subject, concern=True)


@pytest.mark.parametrize(("text", "subject"), BARE)
def test_a_bare_stop_is_an_opt_out_only_when_there_is_no_concern_it_could_be_about(text: str, subject: str) -> None:
    assert asks_to_stop(text, subject)
    assert not asks_to_stop(text, subject, concern=True) or "remove" not in text  # "remove me" names us


@pytest.mark.parametrize(("text", "subject"), COMPLAINTS)
def test_a_complaint_whose_stop_is_about_something_else_is_no_opt_out(text: str, subject: str) -> None:
    assert not asks_to_stop(text, subject, concern=True)


@pytest.mark.parametrize(("text", "subject"), NEITHER)
def test_other_uses_of_stop_remove_and_unsubscribe_are_no_opt_out(text: str, subject: str) -> None:
    assert not asks_to_stop(text, subject)


def test_the_names_of_the_sender_and_greetings_do_not_make_a_bare_stop_a_complaint() -> None:
    assert asks_to_stop("Stop\n\nMarta Silva", name="Marta Silva", concern=True)
    assert not asks_to_stop("Stop\n\nThe roof leaks again", name="Marta Silva", concern=True)


def mail(body: str, subject: str = "Hello", headers: str = "") -> bytes:
    return (f"From: Ana <ana@client.example>\r\nTo: care@example.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <s1@client.example>\r\n{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + body.replace("\n", "\r\n")).encode()


def test_a_reply_is_read_by_its_own_words_not_by_the_subject_it_repeats() -> None:
    # the client's first subject was "Stop", our check-in answered it, and they reply about the boiler
    reply = parse_message(mail("Thanks, the boiler works again.", "Re: Stop [#C-3]", "In-Reply-To: <x@care>\r\n"))
    assert not stop_requested(reply, concern=False)
    quoted = parse_message(mail(  # our footer, quoted back by Outlook without ">", asks nothing
        "The heater is still broken!\n\n-----Original Message-----\nFrom: Care <care@example.test>\n"
        "Subject: Checking in [#C-3]\n\nWe are checking in.\n--\nCare\nReplying to this message reaches the people "
        "handling it. To stop these updates, reply \"stop\" or write to care+o-u1-abc@example.test.",
        "RE: Checking in [#C-3]"))
    assert not stop_requested(quoted, concern=True)
    assert stop_requested(parse_message(mail("stop\n\nOn Mon, Care <care@example.test> wrote:\n> We are checking in.",
                                              "Re: Checking in [#C-3]")), concern=False)


@pytest.mark.parametrize("lang", ["en", "es", "de", "fr", "pt", "it", "nl"])
@pytest.mark.parametrize("template", ["ack_complaint", "ack_anxiety", "checkin", "closing", "optout_confirm",
                                      "reminder", "reminder_move", "reminder_go_live", "reminder_audit",
                                      "reminder_installation"])
def test_our_own_letters_quoted_back_in_full_ask_nothing(template: str, lang: str) -> None:
    from service.mailformat.render import render

    context: dict[str, object] = {
        **letters.client_context(client_name="Ana", token="C-3", subject="Boiler", kind="complaint",
                                 team_name="Care", handler_name="Mia",
                                 unsubscribe="mailto:care+o-u1-abc@example.test?subject=stop", lang=lang),
        "client_name": "Ana", "evidence": ["It broke."], "respond_by": "Monday", "news": ["Done: a"],
        "open_steps": ["b"], "done_steps": [{"text": "a"}], "planned_steps": [{"text": "b", "by": "Monday"}],
        "still_open": [{"text": "b", "by": "Monday"}], "severity": "normal", "done": ["c"], "note": "", "title": "Move", "when": "Monday",
        "place": "Here", "days": 3, "open_items": ["Lift"], "done_items": ["Keys"],
    }
    text = render(template, context).text
    assert not asks_to_stop(text) and not asks_to_stop(text, concern=True)


@pytest.mark.parametrize(("subject", "prefixed", "rest"), [
    ("Re: Late", True, "Late"), ("RE: RE: Late", True, "Late"), ("AW: Late", True, "Late"), ("SV: Late", True, "Late"),
    ("Antw: Late", True, "Late"), ("Odp: Late", True, "Late"), ("YNT: Late", True, "Late"), ("Re[2]: Late", True, "Late"),
    ("RE : Late", True, "Late"), ("回复：Late", True, "Late"), ("答复: Late", True, "Late"), ("Réf. Late", False, "Réf. Late"),
    ("Fwd: Late", False, "Fwd: Late"), ("Regarding the invoice", False, "Regarding the invoice"),
    ("Reminder: Late", False, "Reminder: Late"),
])
def test_reply_prefixes_in_many_languages(subject: str, prefixed: bool, rest: str) -> None:
    assert has_reply_prefix(subject) is prefixed
    assert strip_reply_prefixes(subject) == rest


def test_a_reply_is_known_by_its_headers_token_or_prefix() -> None:
    assert not is_reply(parse_message(mail("x", "Boiler")))
    assert is_reply(parse_message(mail("x", "Boiler", "In-Reply-To: <a@b>\r\n")))
    assert is_reply(parse_message(mail("x", "Boiler", "References: <a@b>\r\n")))
    assert is_reply(parse_message(mail("x", "Boiler [#C-9]")))
    assert is_reply(parse_message(mail("x", "AW: Boiler")))


def test_reading_is_linear_in_the_text() -> None:
    # a flood of commas, one long token, and many clauses: each read at once (no clock: counted steps)
    for text in ("a, " * 30000, "x" * 100000, "stop sending me " * 10000, "Nein. " * 20000):
        assert asks_to_stop(text, concern=True) in (True, False)


def test_the_confirmation_goes_to_an_opted_out_client_once_per_opt_out() -> None:
    handling = letters.HANDLING[letters.Purpose.OPTOUT_CONFIRM]
    assert handling.to_client and not handling.honours_opt_out and not handling.client_capped
    msg = parse_message(mail("stop"))
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    made = [letters.opt_out_confirmation(
        msg, sender=letters.Sender("care@example.test", "Care", "example.test"),
        context={"unsubscribe": "mailto:care+o-u1-abc@example.test?subject=stop"}, to_addr="ana@client.example",
        to_name="Ana", opted_out_at=when, concern=None, links=letters.Links(None, 1), now=at)
        for when in (at, at, datetime(2026, 12, 5, tzinfo=UTC))]
    assert made[0].dedupe_key == made[1].dedupe_key != made[2].dedupe_key  # a second "stop" is not confirmed again
    assert letters.gate(made[0], queued_before=False, opted_out=True, recent=[at] * 9, cap=3,
                        window=timedelta(days=7)) is None


@pytest.mark.parametrize("text", [
    "Hola,\n\npor favor, no me escriban más.\n\nGracias,\nLucía", "s'il vous plaît, ne m'écrivez plus.",
    "per favore, non scrivetemi più.", "alstublieft, geen e-mails meer.", "Bitte, keine E-Mails mehr.",
    "Por favor, não me enviem mais emails.", "please, stop emailing me."])
def test_a_polite_request_to_stop_in_each_language_says_nothing_else(text: str) -> None:
    msg = parse_message(mail(text, "Your emails"))
    assert stop_requested(msg, concern=True) and says_only_stop(msg)


@pytest.mark.parametrize("text", ["por favor, arreglen la factura y no me escriban más.",
                                  "s'il vous plaît, remboursez-moi et ne m'écrivez plus."])
def test_a_request_to_stop_that_says_more_is_not_only_that(text: str) -> None:
    msg = parse_message(mail(text, "Factura"))
    assert stop_requested(msg, concern=True) and not says_only_stop(msg)


@pytest.mark.parametrize(("sender", "body"), [
    ("Pieter de Vries", "Goedemiddag,\n\nGraag uitschrijven.\n\nMet vriendelijke groet,\nPieter de Vries"),
    ("Karl Meier", "Sehr geehrte Damen und Herren,\n\nbitte nehmen Sie mich aus Ihrem Verteiler.\n\n"
                   "Mit freundlichen Grüßen\nKarl Meier"),
    ("Ana Gómez", "Estimados señores:\n\nNo quiero recibir más mensajes.\n\nUn saludo,\nAna Gómez"),
    ("Luca Rossi", "Gentile team,\n\nnon voglio più ricevere messaggi.\n\nCordiali saluti,\nLuca Rossi"),
    ("Maria Silva", "Prezados senhores,\n\nnão quero receber mais mensagens.\n\nCumprimentos,\nMaria Silva"),
    ("Pierre Durand", "Madame, Monsieur,\n\nmerci de ne plus m'envoyer d'e-mails.\n\nVeuillez agréer, Madame, "
                      "Monsieur, l'expression de mes salutations distinguées.\nPierre Durand"),
])
def test_a_formal_letter_that_only_asks_to_stop_says_nothing_else(sender: str, body: str) -> None:
    raw = mail(body, "Newsletter").replace(b"From: Ana <ana@client.example>", f"From: {sender} <x@y.example>".encode())
    msg = parse_message(raw)
    assert stop_requested(msg, concern=True) and says_only_stop(msg)
