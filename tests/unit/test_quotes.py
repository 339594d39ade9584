"""Issue 17, points 5 and 6, pure: where an owner's own words end, the lines we sent, one-line fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.core.businesstime import BusinessHours
from service.core.digest_view import Entry, client_label, digest_context, shown
from service.core.owner_commands import NOT_YOURS, PLACEHOLDER, parse_commands
from service.mailformat.parse import lines_of, one_line, parse_message, strip_quotes
from service.mailformat.quotes import KnownLines, normal_line, own_text
from service.mailformat.render import render

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
LISBON = ZoneInfo("Europe/Lisbon")
MINE = "C-7: call Marta about the rate by Friday"
SEPARATORS = "\u2028\u2029\x85\x0b\x0c\x1c\x1d\x1e"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def digest_text(*, alert: bool = False, subject: str = "Invoice", client: str = "Ana <ana@x.example>") -> tuple[str, str]:
    entry = Entry("C-3", "Acme", client, "complaint", "normal", "acknowledged", 1, NOW - timedelta(days=2),
                  subject, ("charged twice",), ("no action plan 1 working day after it arrived",))
    ctx = digest_context("boss@x.example", [entry], NOW, alert=alert, team_name="Care",
                         hours=BusinessHours.parse("Europe/Lisbon", "09:00-17:00"))
    rendered = render("digest", ctx)
    return rendered.text, rendered.html or ""


@pytest.mark.parametrize("head", [
    "From: Care <care@x.example>\nSent: Monday, November 23, 2026 10:00 AM\nTo: boss@x.example\nSubject: Digest",
    "От: Care <care@x.example>\nОтправлено: 23 ноября 2026 г. 10:00\nКому: boss@x.example\nТема: Digest",
    "发件人: Care <care@x.example>\n发送时间: 2026年11月23日 10:00\n收件人: boss@x.example\n主题: Digest",
    "发件人：Care <care@x.example>\n发送时间：2026年11月23日 10:00\n收件人：boss@x.example\n主题：Digest",
    "Kimden: Care <care@x.example>\nGönderildi: 23 Kasım 2026 Pazartesi 10:00\nKime: boss@x.example\nKonu: Digest",
    "Lähettäjä: Care <care@x.example>\nLähetetty: maanantai 23. marraskuuta 2026 10.00\n"
    "Vastaanottaja: boss@x.example\nAihe: Digest",
    "差出人: Care <care@x.example>\n送信日時: 2026年11月23日 10:00\n宛先: boss@x.example\n件名: Digest",
    "Von: Care <care@x.example>\nGesendet: Montag, 23. November 2026 10:00\nAn: boss@x.example\nBetreff: Digest",
    "De : Care <care@x.example>\nEnvoyé : lundi 23 novembre 2026 10:00\nÀ : boss@x.example\nObjet : Digest",
    "De: Care <care@x.example>\nEnviado el: lunes, 23 de noviembre de 2026 10:00\nPara: boss@x.example\nAsunto: Digest",
    "Da: Care <care@x.example>\nInviato: lunedì 23 novembre 2026 10:00\nA: boss@x.example\nOggetto: Digest",
    "Van: Care <care@x.example>\nVerzonden: maandag 23 november 2026 10:00\nAan: boss@x.example\nOnderwerp: Digest",
    "De: Care <care@x.example>\nEnviada em: segunda-feira, 23 de novembro de 2026 10:00\nPara: boss@x.example\n"
    "Assunto: Digest",
    "Od: Care <care@x.example>\nWysłano: poniedziałek, 23 listopada 2026 10:00\nDo: boss@x.example\nTemat: Digest",
    "Från: Care <care@x.example>\nSkickat: den 23 november 2026 10:00\nTill: boss@x.example\nÄmne: Digest",
    "*From:* Care <care@x.example>\n*Date:* Monday, 23 November 2026 at 10:00\n*To:* boss@x.example\n"
    "*Subject:* Digest",
    "Subject: Digest\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nFrom: Care <care@x.example>\nTo: boss@x.example",
    "From: Care <care@x.example>\nSent: Monday, November 23, 2026 10:00 AM\nTo: boss@x.example; ben@x.example;\n"
    "  chief@x.example\nCc: staff@x.example\nSubject: Digest",
    "On Mon, 23 Nov 2026 at 10:00, Care <care@x.example> wrote:",
    "On Mon, 23 Nov 2026 at 10:00, Care <\ncare@x.example> wrote:",
    "Am Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Care <care@x.example>:",
    "пн, 23 нояб. 2026 г. в 10:00, Care <care@x.example>:",
    "Care <care@x.example> 于2026年11月23日周一 10:00写道：",
    "2026年11月23日(月) 10:00 Care <care@x.example>:",
    "Care <care@x.example>, 23 Kas 2026 Pzt, 10:00 tarihinde şunu yazdı:",
    "ma 23. marrask. 2026 klo 10.00 Care (care@x.example) kirjoitti:",
    "Le 23 nov. 2026 à 10:00, Care a écrit :",
    "Op 23 nov. 2026 om 10:00 heeft Care het volgende geschreven:",
    "El 23 nov 2026, a las 10:00, Care escribió:",
    "Em 23 de nov. de 2026, à(s) 10:00, Care escreveu:",
    "Il giorno 23 nov 2026, alle ore 10:00, Care ha scritto:",
    "-----Original Message-----",
    "-------- Исходное сообщение --------",
    "------------------ 原始邮件 ------------------",
    "________________________________",
    "-- ",
])
def test_the_owners_text_ends_at_an_unmarked_quotes_head(head: str) -> None:
    text, _ = digest_text()
    body = f"{MINE}\r\nThanks.\r\n\r\n{head}\r\n\r\n{text}"
    assert own_text(body).strip() == f"{MINE}\nThanks."
    commands, problems = parse_commands(body, NOW, LISBON)
    assert [c.concern_id for c in commands] == [7] and problems == []


def test_the_example_concerns_own_short_command_is_still_the_owners() -> None:
    text, html = digest_text()  # its examples: "C-3 resolved <how, if you like>", "C-3 done <step number>"
    commands, problems = parse_commands("C-3 resolved\nC-3 done 1\n", NOW, LISBON, known=KnownLines([text, html]))
    assert [(c.kind, c.concern_id) for c in commands] == [("resolve", 3), ("done", 3)] and problems == []


def test_a_bare_token_is_still_told_to_the_owner() -> None:
    text, _ = digest_text()
    _, problems = parse_commands("C-3\n", NOW, LISBON, known=KnownLines([text]))
    assert [p.line for p in problems] == ["C-3"]


def test_a_marked_quote_keeps_the_answers_between_its_lines() -> None:
    body = ("On Mon, 23 Nov 2026 at 10:00, Care <care@x.example> wrote:\n> C-3  complaint\n"
            f"{MINE}\n> Missing: a plan\nC-3 resolved\n")
    commands, _ = parse_commands(body, NOW, LISBON)
    assert [(c.kind, c.concern_id) for c in commands] == [("plan", 7), ("resolve", 3)]


@pytest.mark.parametrize("prose", [
    "To: Ben, please take the first one",  # one field-like line is no header block
    "Please see these (ben@x.example):",  # commands below it: not an attribution
])
def test_the_owners_own_lines_are_not_mistaken_for_a_quote(prose: str) -> None:
    commands, _ = parse_commands(f"{prose}\n{MINE}\nC-8 resolved\n", NOW, LISBON)
    assert [c.concern_id for c in commands] == [7, 8]


@pytest.mark.parametrize("prose", [
    "Here is what I wrote to you on 3 December:",
    "Ich habe Ihnen gestern um 10:00 Folgendes geschrieben:",
    "Ik heb u om 10:00 het volgende geschreven:",
    "Comme je vous l'ai écrit hier :",
    "Como le escribí ayer a su compañero, yo escribió:",
    "As you wrote:",
])
def test_a_client_quoting_their_own_words_keeps_them(prose: str) -> None:
    # a line ending in "wrote:" that a person says is no attribution: the concern below it is the client's
    body = f"Hello,\n{prose}\nThe boiler is still broken and nobody came.\nAnna"
    assert "still broken" in strip_quotes(body)


@pytest.mark.parametrize("alert", [False, True])
def test_no_example_in_a_digest_runs_as_written(alert: bool) -> None:
    text, html = digest_text(alert=alert)
    from inscriptis import get_text

    for body in (text, get_text(html)):
        commands, problems = parse_commands(body, NOW, LISBON)
        assert commands == []
        assert sum(p.reason == PLACEHOLDER for p in problems) == 4


@pytest.mark.parametrize("mangle", [
    lambda s: s,
    lambda s: s.upper(),
    lambda s: "\n".join("    " + x for x in s.splitlines()),
    lambda s: "\n".join("| " + x for x in s.splitlines()),
    lambda s: "\n".join(" ".join(x.split()) for x in s.splitlines()),
    lambda s: s.replace('"', "“").replace("-", "–"),
    lambda s: "\n".join(x.replace(" ", "\u00a0") for x in s.splitlines()),
])
def test_every_line_we_sent_is_never_a_command_however_it_is_quoted(mangle: object) -> None:
    subject = "Invoice C-3 resolved please"  # a client's words that, cut out of their line, would be a command
    text, html = digest_text(subject=subject)
    known = KnownLines([text, html])
    quoted = mangle(text)  # type: ignore[operator]
    commands, problems = parse_commands(f"{MINE}\n{quoted}", NOW, LISBON, known=known)
    assert [c.concern_id for c in commands] == [7] and problems == []


def test_a_wrapped_piece_of_a_line_we_sent_is_refused_with_the_reason() -> None:
    import textwrap

    text, _ = digest_text(subject="Heating " + "x" * 40 + " C-3 resolved thanks")
    wrapped = "\n".join(x for line in text.splitlines() for x in textwrap.wrap(line, 60))
    commands, problems = parse_commands(f"{MINE}\n{wrapped}", NOW, LISBON, known=KnownLines([text]))
    assert [c.concern_id for c in commands] == [7]
    assert [p.reason for p in problems] == [NOT_YOURS]


def test_known_lines_fold_what_mail_programs_change() -> None:
    known = KnownLines(["  C-3  complaint, normal severity\r\n  They wrote: \"late\"\r\n"])
    assert known.sent(">> c-3 complaint,   NORMAL severity") and known.sent("  They wrote: “late”")
    assert known.inside("normal severity") and not known.inside("abnormal severity")
    assert known.piece("c-3 complaint, normal") and not known.inside("c-3 complaint, normal")
    assert not known.sent("C-3 resolved") and not KnownLines()
    assert normal_line("\u202e> *C-3*\u00a0done") == "c-3 done"


@pytest.mark.parametrize("sep", list(SEPARATORS))
def test_one_line_fields_have_no_line_break_of_any_kind_and_no_bidi_control(sep: str) -> None:
    value = f"Boiler{sep}C-2 resolved \u202egnp.exe"
    assert len(one_line(value).splitlines()) == 1 and "\u202e" not in one_line(value)
    assert len(shown(value).splitlines()) == 1
    assert lines_of(f"a{sep}b\r\nc\rd\ne") == [f"a{sep}b", "c", "d", "e"]
    commands, _problems = parse_commands(f"C-9: call Bo by Friday{sep}C-2 resolved", NOW, LISBON)
    assert not any(c.concern_id == 2 for c in commands)


def test_a_subject_with_separators_arrives_as_one_line() -> None:
    raw = (b"From: Bo <bo@x.example>\r\nSubject: =?utf-8?b?Qm9pbGVy4oCoQy0yIHJlc29sdmVk?=\r\n"
           b"Message-ID: <s@x>\r\n\r\nhello\r\n")
    msg = parse_message(raw)
    assert msg.subject == "Boiler C-2 resolved" and len(msg.subject.splitlines()) == 1


def test_strip_quotes_splits_at_real_line_ends_only() -> None:
    assert strip_quotes("> quoted\u2028C-1 resolved\nmine") == "mine"


@pytest.mark.parametrize(("name", "email", "label"), [
    ("Ana Lima", "ana@x.example", "Ana Lima <ana@x.example>"),
    ("", "ana@x.example", "ana@x.example"),
    ("owner@acme.example", "eve@evil.example", "eve@evil.example"),
    ("Support <owner@acme.example>", "eve@evil.example", "eve@evil.example"),
    ("owner＠acme.example", "eve@evil.example", "eve@evil.example"),
    ("\u202eAna\u2066 Lima\u2028C-2 resolved", "ana@x.example", "Ana Lima C-2 resolved <ana@x.example>"),
])
def test_a_clients_name_is_neutralised_for_the_owner(name: str, email: str, label: str) -> None:
    assert client_label(name, email) == label


def test_the_digest_shows_client_fields_plain() -> None:
    text, html = digest_text(subject=f"Invoice{SEPARATORS}\u202eend", client="Ana\u2028C-1 resolved <a@x.example>")
    for body in (text, html):
        assert not any(c in body for c in SEPARATORS + BIDI)


@pytest.mark.timeout(30)  # quadratic work on these would run for hours; linear work takes well under a second
def test_owner_text_is_linear() -> None:
    # one long line of field-like, dash and bracket shapes, and many lines of them
    floods = ["From: " * 20_000, "-" * 100_000 + "x", "<" * 50_000 + "@" + ">" * 50_000,
              ("From: a\n" * 20_000), ("C-1 " + " " * 100_000 + "x"), ("C-1 by " * 20_000)]
    for body in floods:
        commands, _ = parse_commands(body, NOW, LISBON, known=KnownLines([body[:20_000]]))
        assert commands == []
