"""Parsing: hardened against bad mail, quotes removed, thread keys and automatic-mail signals."""

from __future__ import annotations

import pytest

from service.mailformat.parse import parse_message, strip_quotes


def raw(headers: str, body: str = "Hello", *, ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + f"\r\nContent-Type: {ctype}\r\n\r\n"
            + body.replace("\n", "\r\n")).encode("utf-8", "surrogateescape")


BASE = "From: Ana Lopez <Ana@Client.Example>\nTo: care@example.test\nSubject: Hello\nMessage-ID: <m1@client.example>"


def test_addresses_subject_and_ids() -> None:
    msg = parse_message(raw(BASE + "\nIn-Reply-To: <a@x>\nReferences: <r1@x> <a@x>"))
    assert msg.from_addr == "ana@client.example"
    assert msg.from_name == "Ana Lopez"
    assert msg.message_id == "<m1@client.example>"
    assert msg.thread_ids == ("<a@x>", "<r1@x>")
    assert msg.auto_signals == ()


def test_concern_token_in_subject() -> None:
    msg = parse_message(raw(BASE.replace("Subject: Hello", "Subject: Re: Late again [#c-42]")))
    assert msg.concern_token == "C-42"


def test_encoded_word_subject_with_crlf_is_one_line() -> None:
    # =?utf-8?q?...?= hiding a CR/LF and a Bcc header must stay inside the subject
    msg = parse_message(raw(BASE.replace("Subject: Hello", "Subject: =?utf-8?q?hi=0D=0ABcc:_evil@x.test?=")))
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert "Bcc" in msg.subject


def test_unknown_charset_yields_text() -> None:
    body = "Nobody called me back, I am upset".encode("latin-1")
    data = raw(BASE, ctype="text/plain; charset=x-klingon").replace(b"Hello", body)
    msg = parse_message(data)
    assert "Nobody called" in msg.text


def test_html_only_message_becomes_text() -> None:
    html = "<html><body><p>I am <b>really</b> worried about the audit</p><script>x()</script></body></html>"
    msg = parse_message(raw(BASE, html, ctype="text/html; charset=utf-8"))
    assert "really worried about the audit" in " ".join(msg.text.split())
    assert "<b>" not in msg.text


def test_missing_message_id_is_stable_and_synthetic() -> None:
    data = raw("From: a@b.example\nSubject: x")
    assert parse_message(data).message_id == parse_message(data).message_id
    assert parse_message(data).message_id.endswith("@followup.invalid>")


@pytest.mark.parametrize("data", [
    b"",
    b"\x00\xff\xfe garbage",
    b"From: \r\nSubject: =?bad?=\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\nContent-Type: text/plain; charset=\"\r\n\r\ntruncated",
    b"Subject: " + b"x" * 100_000 + b"\r\n\r\nbody",
    b"From: <<<>>>@@@\r\nDate: yesterday-ish\r\n\r\nbody",
])
def test_broken_input_never_raises(data: bytes) -> None:
    msg = parse_message(data)
    assert msg.message_id.startswith("<")
    assert isinstance(msg.text, str)


def test_quoted_complaint_is_not_new_text() -> None:
    text = ("Thanks so much, all sorted now!\n\nBest,\nAna\n\n"
            "On Mon, 3 Nov 2026 at 10:00, Care <care@example.test> wrote:\n"
            "> This is unacceptable, I am furious\n> nobody called\n")
    new = strip_quotes(text)
    assert "Thanks so much" in new
    assert "unacceptable" not in new and "furious" not in new


def test_signature_is_removed() -> None:
    new = strip_quotes("We are worried about Monday.\n\n-- \nTom Becker\nCTO, Greenfield\n")
    assert "worried" in new and "CTO" not in new


@pytest.mark.parametrize(("items", "after"), [
    (["- the invoice was doubled", "- nobody answers the phone"], "I am really worried about the audit."),
    (["-la factura llegó duplicada", "-nadie contesta"], "Me preocupa mucho la auditoría."),
    (["- Rechnung doppelt", "- niemand ruft zurück"], "Ich mache mir Sorgen wegen der Prüfung."),
])
def test_a_hyphen_list_is_the_clients_words_not_a_signature(items: list[str], after: str) -> None:
    new = strip_quotes("Hello,\n\nThree things this week:\n" + "\n".join(items) + f"\n\n{after}\n\nAna\n\n"
                       "On Mon, 3 Nov 2026 at 10:00, Care <care@example.test> wrote:\n> All fixed.\n")
    assert all(item in new for item in items) and after in new
    assert "All fixed" not in new


@pytest.mark.parametrize(("header", "signal"), [
    ("Auto-Submitted: auto-replied", "auto-submitted:auto-replied"),
    ("Auto-Submitted: auto-generated", "auto-submitted:auto-generated"),
    ("X-Autoreply: yes", "x-autoreply"),
    ("Precedence: bulk", "precedence:bulk"),
    ("Precedence: junk", "precedence:junk"),
    ("Precedence: list", "precedence:list"),
    ("List-Id: <news.vendor.example>", "list-id"),
    ("List-Unsubscribe: <mailto:u@vendor.example>", "list-unsubscribe"),
    ("Return-Path: <>", "null-return-path"),
    ("X-Followup-Instance: care@other.example", "followup-instance"),
])
def test_automatic_signals(header: str, signal: str) -> None:
    assert signal in parse_message(raw(BASE + "\n" + header)).auto_signals


def test_auto_submitted_no_is_a_person() -> None:
    assert parse_message(raw(BASE + "\nAuto-Submitted: no")).auto_signals == ()


def test_delivery_report_and_mailer_daemon() -> None:
    data = raw("From: MAILER-DAEMON@mx.example\nSubject: Undelivered\nMessage-ID: <b@mx>",
               ctype='multipart/report; report-type=delivery-status; boundary="b"')
    signals = parse_message(data).auto_signals
    assert "delivery-report" in signals and "mailer-daemon" in signals


def test_noreply_address() -> None:
    data = raw(BASE.replace("Ana@Client.Example", "no-reply@client.example"))
    assert "noreply-address" in parse_message(data, noreply_patterns=("no-reply",)).auto_signals


def test_an_address_hidden_in_an_encoded_display_name_is_not_the_sender() -> None:
    raw = (b"From: =?utf-8?q?Ana=0D=0ABcc=3A_x=40evil=2Eexample?= <ana@client.example>\r\n"
           b"To: care@example.test\r\nSubject: Invoice\r\nMessage-ID: <n1@x>\r\n\r\nbody\r\n")
    msg = parse_message(raw)
    assert msg.from_addr == "ana@client.example"
    assert "\n" not in msg.from_name and "x@evil.example" in msg.from_name  # shown as text, never used


def test_quoted_history_after_a_top_posted_reply_is_never_new_words() -> None:
    reply = "The engineer did not come again.\n\nOn Mon, 2 Nov 2026, Care <care@example.test> wrote:\n"
    short = strip_quotes(reply + "> We will send an engineer on Tuesday.\n")
    long = strip_quotes(reply + "".join(f"> line {n} of an old thread, furious and worried\n" for n in range(500)))
    assert short == long == "The engineer did not come again."


def test_quoted_lines_without_a_reply_header_are_dropped_and_answers_between_them_kept() -> None:
    assert strip_quotes("Great, another week without heating.\n\n> Dear tenants, the boiler is fixed.\n"
                        "> Regards\n") == "Great, another week without heating."
    assert strip_quotes("See my answers.\n> Is the backup done?\nNo, and I am worried.\n> Date?\nFriday.\n") \
        == "See my answers.\nNo, and I am worried.\nFriday."


@pytest.mark.parametrize("head", [
    "El jue, 3 dic 2026 a las 10:00, Care (<care@example.test>) escribió:",
    "Op do 3 dec. 2026 om 10:00 schreef Care <care@example.test>:",
    "Em qui., 3 de dez. de 2026 às 10:00, Care <care@example.test> escreveu:",
    "De: Care <care@example.test>\nEnviada em: quinta-feira, 3 de dezembro de 2026 10:00\nPara: ana@client.example\n"
    "Assunto: RE: Fatura",
    "Le jeu. 3 déc. 2026 à 10:00, Care <care@example.test> a écrit :",
    "Am Do., 3. Dez. 2026 um 10:00 Uhr schrieb Care <care@example.test>:",
    "Il giorno gio 3 dic 2026 alle ore 10:00 Care <care@example.test> ha scritto:",
])
def test_a_reply_under_a_quote_head_of_each_language_is_its_own_words_only(head: str) -> None:
    body = (f"Obrigada, já está tudo resolvido.\n\n{head}\nWe are checking in on your concern C-3.\n"
            "Is anything worrying you? Reply stop to stop these updates.\n")
    raw = ("From: Ana <ana@client.example>\r\nTo: care@example.test\r\nSubject: Re: Fatura [#C-3]\r\n"
           "Message-ID: <q1@client.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           + body.replace("\n", "\r\n")).encode()
    assert parse_message(raw).new_text == "Obrigada, já está tudo resolvido."


@pytest.mark.parametrize("head", [
    "On Mon, 6 Jan 2025 at 09:12, Billing <billing@example.test> wrote:",
    "Le lun. 6 janv. 2025 à 09:12, Nomexa <facturation@example.test> a écrit :",
    "Le 18/03/2025 12:40, Info Dépannage 35 a écrit :",
    "Am 06.01.2025 um 09:12 schrieb Billing:",
    "El lun, 6 ene 2025 a las 9:12, Billing (<billing@example.test>) escribió:",
    "Il giorno lun 6 gen 2025 alle ore 09:12 Billing <billing@example.test> ha scritto:",
    "Op ma 6 jan. 2025 om 09:12 schreef Billing <billing@example.test>:",
    "Em seg., 6 de jan. de 2025 às 09:12, Billing <billing@example.test> escreveu:",
])
def test_a_reply_written_below_the_quote_is_read_whatever_the_heads_language(head: str) -> None:
    # bottom-posting (Thunderbird's habit, and many older clients'): the words are under the quote, not above it
    body = (f"{head}\n\n> Votre nom de domaine a été renouvelé.\n> Montant débité : 23,88 €\n\n"
            "Je ne veux pas de ce renouvellement, remboursez-moi.\n\nPierre Lamotte\n")
    assert strip_quotes(body) == "Je ne veux pas de ce renouvellement, remboursez-moi.\n\nPierre Lamotte"


def test_answers_between_the_lines_of_a_quote_with_its_head_on_top_are_all_read() -> None:
    body = ("Am Mi., 9. Apr. 2025 um 18:30 Uhr schrieb Sophie <sophie@example.test>:\n\n> - Datum des Vertrags?\n\n"
            "28. März. Wir haben Angst, dass die Frist zu kurz ist.\n\n> - Gehaltsabrechnungen?\n\nIm Anhang.\n\n"
            "> Viele Grüße\n> Sophie\n\nDanke!\nLaurent\n")
    assert strip_quotes(body).split("\n\n") == ["28. März. Wir haben Angst, dass die Frist zu kurz ist.", "Im Anhang.",
                                                "Danke!\nLaurent"]


@pytest.mark.parametrize("footer", [
    "Von meinem iPhone gesendet",
    "Envoyé à partir de Outlook pour Android",
    "Verzonden vanaf mijn Samsung Galaxy-smartphone.",
    "Enviado do meu telemóvel",
    "Get Outlook for iOS",
    "Ce message et ses pièces jointes sont confidentiels. Si vous n'êtes pas le destinataire, toute utilisation "
    "est interdite et illégale; merci de signaler l'erreur.",
    "Le informazioni contenute nella presente comunicazione sono riservate. Se avete ricevuto questo messaggio "
    "per errore, cancellatelo.",
    "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind, ist jede "
    "Weitergabe unzulässig.",
    "Este mensaje y sus anexos son confidenciales; si lo ha recibido por error, elimínelo.",
    "Dit bericht is uitsluitend bestemd voor de geadresseerde. Gebruik door anderen is niet toegestaan.",
    "Esta mensagem pode conter informação confidencial; se a recebeu por engano, apague-a.",
])
def test_a_device_line_or_a_disclaimer_ends_the_authors_words(footer: str) -> None:
    # a disclaimer's "error", "illegal", "prohibited" are nobody's complaint
    body = f"Danke, alles angekommen, und die Rechnung stimmt.\n\n{footer}\n\nmore below the line"
    assert strip_quotes(body) == "Danke, alles angekommen, und die Rechnung stimmt."


@pytest.mark.parametrize("words", [
    "Get me a mobile technician here by tomorrow, the lift is stuck again.",
    "Sent from my iPhone, the photos show the water damage in the kitchen and the hall.",
    "This message is the third I send about the same invoice.",
    "Ce message est ma dernière relance avant de saisir le médiateur.",
    "Questo messaggio è per segnalare un errore nella fattura.",
])
def test_a_persons_sentence_that_starts_like_a_footer_stays(words: str) -> None:
    assert strip_quotes(f"Hello,\n{words}\nAnna") == f"Hello,\n{words}\nAnna"


@pytest.mark.parametrize("opening", ["Thanks, we'll see you Monday at 9.", "Gracias, pero el problema sigue igual.",
                                     "Cordialement, je reviens vers vous car rien n'a bougé."])
def test_a_paragraph_that_opens_like_a_closing_is_the_clients_words(opening: str) -> None:
    # the reply parser's signature patterns start at "Thanks," / "Gracias," and took everything below
    body = f"Hi Sarah,\n\n{opening} I'm really not sure he will cope, and the allergy form is missing.\n\nBecky\n"
    assert "allergy form is missing" in strip_quotes(body)


def test_answers_typed_into_the_quote_with_the_authors_initials_are_read() -> None:
    body = ("Mike - my comments inline in [JH]. Not happy.\n\nFrom: Mike <mike@example.test>\nSent: 09 April 2025 "
            "17:10\nTo: Jo <jo@example.test>\nSubject: status\n\n- Payment: slight delay.\n[JH] This was due on "
            "21 March.\n- iOS build: next week.\n[JH] I'm really worried we miss the launch.\n\nMike\n")
    assert strip_quotes(body) == ("Mike - my comments inline in [JH]. Not happy.\n\n[JH] This was due on 21 March.\n"
                                  "[JH] I'm really worried we miss the launch.")


def test_answers_typed_into_the_quote_after_an_arrow_are_read_and_our_ticked_items_are_not() -> None:
    body = ("Le contesto dentro del texto.\n\nDe: Obras <obras@example.test>\nEnviado el: lunes\nPara: ana@x.test\n"
            "Asunto: entrega\n\n¿Está todo terminado?\n--> No. El grifo sigue goteando.\n¿La pintura?\n"
            "--> Tampoco, hay una mancha en el parquet.\n\n  [x] Llaves\n  [x] Manual de la caldera\n")
    assert strip_quotes(body) == ("Le contesto dentro del texto.\n\n--> No. El grifo sigue goteando.\n"
                                  "--> Tampoco, hay una mancha en el parquet.")


def test_a_line_that_opens_like_a_notice_at_the_top_of_a_long_email_is_the_clients() -> None:
    lines = "\n".join(f"Point {n}: the invoice shows the wrong amount again." for n in range(14))
    body = f"Hello,\nThis message is intended for the billing team: you charged me twice.\n{lines}\nAnna"
    assert "charged me twice" in strip_quotes(body) and "Point 13" in strip_quotes(body)


def test_the_broken_end_of_a_long_quoted_line_is_not_the_clients() -> None:
    body = ("Thanks, all fixed now.\n\nOn Mon, 3 Nov 2026, Care <care@example.test> wrote:\n"
            "> We are sorry for the delay, which was unacceptable, and we\nwill refund the delivery fee today.\n"
            "> Regards\n")
    assert strip_quotes(body) == "Thanks, all fixed now."


@pytest.mark.parametrize("banner", [
    "[EXTERNAL] This email originated from outside of the organization. Do not click links unless you trust it.",
    "[EXTERNO] Esta mensagem teve origem fora da organização. Não clique em ligações nem abra anexos.",
    "ACHTUNG: Diese E-Mail stammt von außerhalb des Unternehmens. Klicken Sie nicht auf verdächtige Links.",
])
def test_a_gateways_external_sender_warning_is_not_the_clients(banner: str) -> None:
    assert strip_quotes(f"{banner}\n\nThe invoice is wrong again.\nAnna") == "The invoice is wrong again.\nAnna"
