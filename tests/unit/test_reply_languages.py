"""Replies in the reader's language: the choice, the template folders, the dates, the owners' words."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service.core import letters
from service.core.businesstime import BusinessHours
from service.core.digest_view import Entry, digest_context, digest_subject
from service.core.escalation_policy import reason_code
from service.core.owner_commands import parse_commands, parse_due
from service.mailformat import locale_dates
from service.mailformat.render import ENGLISH, default_templates_dir, languages, render, render_line

SHIPPED = default_templates_dir()
OTHERS = ("es", "de", "fr", "pt", "it", "nl")
# what a client or an owner is sent, by template
CLIENT_TEMPLATES = ("ack_complaint", "ack_anxiety", "checkin", "closing", "optout_confirm", "reminder",
                    "reminder_audit", "reminder_go_live", "reminder_installation", "reminder_move")
THURSDAY = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)


def context(lang: str, **extra: Any) -> dict[str, Any]:
    return {
        **letters.client_context(client_name="Ana Lima", token="C-3", subject="Caldeira", kind="complaint",
                                 team_name="Care", handler_name="Mia",
                                 unsubscribe="mailto:care+o-u1-abc@example.test?subject=stop", lang=lang),
        "client_name": "Ana Lima", "evidence": ["<b>Nunca</b> mais!"], "respond_by": "RESPOND-BY",
        "done_steps": [{"text": "STEP-DONE"}], "planned_steps": [{"text": "STEP-NEW", "by": "DAY-1"}],
        "still_open": [{"text": "STEP-OPEN", "by": "DAY-2"}], "news": [], "open_steps": [], "severity": "normal",
        "done": ["FIXED"], "note": "", "title": "EVENT", "type": "move", "when": "WHEN", "place": "PLACE",
        "days": 3, "open_items": ["ITEM-OPEN"], "done_items": ["ITEM-DONE"], **extra}


def test_reply_language_theirs_else_the_accounts_else_english() -> None:
    have = frozenset({"en", "fr", "de"})
    assert letters.reply_language("fr", "de", have) == "fr"
    assert letters.reply_language("pl", "de", have) == "de"  # no Polish templates: the account's default
    assert letters.reply_language(None, "de", have) == "de"
    assert letters.reply_language("pl", "sv", have) == "en"
    assert letters.reply_language(None, None, have) == "en"


def test_every_language_folder_has_every_template_english_has_for_clients_and_owners() -> None:
    assert languages() == frozenset({ENGLISH, *OTHERS})
    english = {p.name for p in SHIPPED.glob("*.j2")} - {"incident.txt.j2", "incident.html.j2"}  # the operator's
    for lang in OTHERS:
        assert {p.name for p in (SHIPPED / lang).glob("*.j2")} == english, lang


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag not in ("br", "meta"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


@pytest.mark.parametrize("lang", OTHERS)
@pytest.mark.parametrize("name", CLIENT_TEMPLATES)
def test_each_letter_in_each_language_carries_everything_and_no_english(name: str, lang: str) -> None:
    made = render(name, context(lang))
    for text in (made.text, made.html):
        assert "Ana" in text and "Ana Lima" not in text  # greeted by first name
        # every fact the English letter gives is there (each template shows its own)
        english = render(name, context("en"))
        facts = ["C-3", "Caldeira", "RESPOND-BY", "STEP-DONE", "STEP-NEW", "DAY-1", "STEP-OPEN", "DAY-2",
                 "FIXED", "EVENT", "WHEN", "PLACE", "ITEM-OPEN", "ITEM-DONE", "care+o-u1-abc@example.test"]
        assert [f for f in facts if f in (english.text if text is made.text else english.html)] == \
            [f for f in facts if f in text], (name, lang)
        # the English sentences are gone: none of English's commonest words stand alone in it
        assert not re.search(r"\b(?:the|you|your|thank|this|with|would|has been|will)\b", text), (name, lang)
    if name.startswith("ack_"):
        assert "Nunca</b>" not in made.html and "&lt;b&gt;Nunca" in made.html  # the client's words escaped
        assert "<b>Nunca</b> mais!" in made.text  # and, in plain text, as written
    tags = _Tags()
    tags.feed(made.html)
    assert tags.lang == lang and tags.open == []


@pytest.mark.parametrize(("lang", "greeting"), [
    ("fr", "Bonjour Ana,"), ("de", "Guten Tag Ana,"), ("es", "Hola, Ana:"), ("it", "Gentile Ana,"),
    ("nl", "Beste Ana,"), ("pt", "Olá Ana,"), ("en", "Dear Ana,")])
def test_greetings_and_a_nameless_client(lang: str, greeting: str) -> None:
    assert render("checkin", context(lang)).text.startswith(greeting + "\n\n")
    nameless = {**context(lang), **letters.client_context(
        client_name="", token="C-3", subject="x", kind="complaint", team_name="Care", handler_name="Mia",
        unsubscribe="mailto:a@b.example", lang=lang)}
    first = render("checkin", nameless).text.splitlines()[0]
    assert first and "Ana" not in first and first[-1] in ",:"


def test_a_template_a_language_lacks_is_written_in_english(tmp_path: Path) -> None:
    own = tmp_path / "templates"
    (own / "sv").mkdir(parents=True)
    (own / "sv" / "ack_complaint.txt.j2").write_text("Hej {{ first_name }}! {{ token }}\n")
    (own / "sv" / "ack_complaint.html.j2").write_text("<p>Hej {{ first_name }}! {{ token }}</p>\n")
    (own / "fr").mkdir()
    (own / "fr" / "closing.txt.j2").write_text("Clos : {{ token }}\n")
    # an operator adds Swedish by adding a folder; theirs wins over the shipped French where they wrote one
    assert languages(own) == frozenset({ENGLISH, *OTHERS, "sv"})
    assert render("ack_complaint", context("sv"), own).text == "Hej Ana! C-3\n"
    assert render("checkin", context("sv"), own).text.startswith("Dear Ana,")  # not written: English
    assert render("closing", context("fr"), own).text == "Clos : C-3\n"
    assert render("checkin", context("fr"), own).text.startswith("Bonjour Ana,")  # the shipped French


def test_a_folder_that_is_not_a_language_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "x.txt.j2").write_text("x")
    (tmp_path / "xx").mkdir()  # empty: no templates
    assert languages(tmp_path) == languages()
    # a context naming a language with no folder, or a path, gets English
    assert render("checkin", context("../../etc")).text.startswith("Dear Ana,")


@pytest.mark.parametrize(("lang", "moment", "day_at"), [
    ("en", "Thursday 03 December, 15:05 CET", "Thursday 03 December at 15:05"),
    ("fr", "jeudi 3 décembre, 15:05 CET", "jeudi 3 décembre à 15:05"),
    ("de", "Donnerstag, 3. Dezember, 15:05 CET", "Donnerstag, 3. Dezember um 15:05"),
    ("es", "jueves 3 de diciembre, 15:05 CET", "jueves 3 de diciembre a las 15:05"),
    ("it", "giovedì 3 dicembre, 15:05 CET", "giovedì 3 dicembre alle 15:05"),
    ("nl", "donderdag 3 december, 15:05 CET", "donderdag 3 december om 15:05"),
    ("pt", "quinta-feira, 3 de dezembro, 15:05 CET", "quinta-feira, 3 de dezembro às 15:05"),
])
def test_dates_in_each_language_in_the_accounts_zone(lang: str, moment: str, day_at: str) -> None:
    assert locale_dates.moment(THURSDAY, "Europe/Paris", lang) == moment
    assert locale_dates.day_at(THURSDAY, ZoneInfo("Europe/Paris"), lang) == day_at
    # 23:30 in New York is already Friday in Paris
    late = datetime(2026, 12, 4, 4, 30, tzinfo=UTC)
    assert locale_dates.day(late, "America/New_York", lang) != locale_dates.day(late, "Europe/Paris", lang)


def test_an_added_language_gets_cldrs_dates_and_an_unknown_code_english() -> None:
    assert locale_dates.day(THURSDAY, "Europe/Warsaw", "pl") == "czwartek, 3 grudnia 2026"
    assert locale_dates.day(THURSDAY, "UTC", "zz") == "Thursday 03 December"


@pytest.mark.parametrize(("lang", "days", "hours", "minutes"), [
    ("en", "3 days", "5 hours", "20 minutes"), ("de", "3 Tage", "5 Stunden", "20 Minuten"),
    ("fr", "3 jours", "5 heures", "20 minutes"), ("es", "3 días", "5 horas", "20 minutos"),
    ("nl", "3 dagen", "5 uur", "20 minuten"), ("it", "3 giorni", "5 ore", "20 minuti"),
    ("pt", "3 dias", "5 horas", "20 minutos")])
def test_how_long_someone_waited(lang: str, days: str, hours: str, minutes: str) -> None:
    # (French sets a no-break space between the number and its unit)
    assert locale_dates.waited(timedelta(days=3, hours=7), lang).replace("\xa0", " ") == days
    assert locale_dates.waited(timedelta(hours=5, minutes=59), lang).replace("\xa0", " ") == hours
    assert locale_dates.waited(timedelta(minutes=20, seconds=30), lang).replace("\xa0", " ") == minutes


@pytest.mark.parametrize(("lang", "words", "subject"), [
    ("de", ("Beschwerde", "Wartezeit 3 Tage", "ein Schritt ist überfällig", "bis <wann>"),
     "Übersicht Donnerstag, 3. Dezember 2026: 2 Anliegen brauchen einen Maßnahmenplan"),
    ("fr", ("réclamation", "en attente depuis 3 jours", "une étape a dépassé sa date", "avant <quand>"),
     "Récapitulatif du jeudi 3 décembre 2026 : 2 dossiers attendent un plan d'action"),
    ("es", ("queja", "esperando desde hace 3 días", "un paso ha superado su fecha", "para <cuándo>"),
     "Resumen del jueves, 3 de diciembre de 2026: 2 casos necesitan un plan de acción"),
])
def test_an_owner_reads_the_digest_in_their_language_with_the_clients_words_as_written(
        lang: str, words: tuple[str, ...], subject: str) -> None:
    hours = BusinessHours.parse("Europe/Berlin", "09:00-17:00")
    entries = [Entry("C-1", "Acme", "Ana <ana@x.example>", "complaint", "normal", "acknowledged", 1,
                     THURSDAY - timedelta(days=3), "Rechnung", ("Das ist eine Frechheit, <b>wirklich</b>.",),
                     ("an action item is past its due date",), why=(reason_code("C-1:item:4"),)),
               Entry("C-2", "Acme", "Bo <bo@x.example>", "anxiety", "high", "open", 2, THURSDAY - timedelta(hours=5),
                     "Go-live", ("I can't sleep.",), ("still no action plan",), why=(reason_code("C-2:plan:2"),))]
    ctx = digest_context("boss@x.example", entries, THURSDAY, alert=False, team_name="Care", hours=hours, lang=lang)
    made = render("digest", ctx)
    for word in words:
        assert word in made.text.replace("\xa0", " ") and html.escape(word, quote=False) in made.html.replace("\xa0", " ")
    assert "Das ist eine Frechheit, <b>wirklich</b>." in made.text and "I can't sleep." in made.text
    assert "&lt;b&gt;wirklich&lt;/b&gt;" in made.html
    assert "Good morning" not in made.text and "How to answer" not in made.text
    assert digest_subject(ctx) == subject
    alert = digest_context("boss@x.example", entries, THURSDAY, alert=True, team_name="Care", hours=hours, lang=lang)
    assert not digest_subject(alert).startswith("Urgent: 2 concerns")


def test_the_english_digest_and_subject_are_as_before() -> None:
    hours = BusinessHours.parse("Europe/Lisbon", "09:00-17:00")
    entry = Entry("C-1", "Acme", "Ana <ana@x.example>", "complaint", "normal", "acknowledged", 1,
                  THURSDAY - timedelta(days=3), "Invoice", ("Wrong again.",), ("no action plan 1 working day",))
    ctx = digest_context("boss@x.example", [entry], THURSDAY, alert=False, team_name="Care", hours=hours)
    assert digest_subject(ctx) == "Digest Thursday 03 December 2026: 1 concern needs an action plan"
    alert = digest_context("boss@x.example", [entry], THURSDAY, alert=True, team_name="Care", hours=hours)
    assert digest_subject(alert) == "Urgent: 1 concern needs an action plan now"
    assert "Missing: no action plan 1 working day" in render("digest", ctx).text


def test_reminder_subjects_in_each_language() -> None:
    base = {"title": "Umzug", "token": "E-4", "days": 1}
    assert render_line("subject_reminder", {**base, "lang": "de"}) == "Umzug: morgen [#E-4]"
    assert render_line("subject_reminder", {**base, "days": 3, "lang": "fr"}) == "Umzug : dans 3 jours [#E-4]"
    assert render_line("subject_reminder", {**base, "days": 3}) == "Umzug: in 3 days [#E-4]"


NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)  # Monday


@pytest.mark.parametrize(("line", "kind", "text", "due"), [
    ("C-7: appeler Marta avant vendredi", "plan", "appeler Marta", datetime(2026, 11, 27, 16, tzinfo=UTC)),
    ("C-7: Techniker schicken bis morgen 15 Uhr", "plan", "Techniker schicken", datetime(2026, 11, 24, 14, tzinfo=UTC)),
    ("C-7: llamar al cliente para el viernes", "plan", "llamar al cliente", datetime(2026, 11, 27, 16, tzinfo=UTC)),
    ("C-7: richiamare il cliente entro domani alle 11", "plan", "richiamare il cliente",
     datetime(2026, 11, 24, 10, tzinfo=UTC)),
    ("C-7: monteur sturen uiterlijk woensdag", "plan", "monteur sturen", datetime(2026, 11, 25, 16, tzinfo=UTC)),
    ("C-7: ligar ao cliente até amanhã às 15h", "plan", "ligar ao cliente", datetime(2026, 11, 24, 14, tzinfo=UTC)),
    ("C-7 résolu : remboursement envoyé", "resolve", ": remboursement envoyé", None),
    ("C-7 gelöst", "resolve", "", None),
    ("C-7 erledigt 2", "done", "", None),
    ("C-7 fatto 2", "done", "", None),
    # English as before: the last "by" starts the date, "3/4" is the 4th of March
    ("C-7: call Marta by the rate desk by 3/4", "plan", "call Marta by the rate desk",
     datetime(2027, 3, 4, 16, tzinfo=UTC)),
])
def test_owners_answer_in_their_language(line: str, kind: str, text: str, due: datetime | None) -> None:
    commands, problems = parse_commands(line, NOW, ZoneInfo("Europe/Paris"))
    assert not problems, problems
    [command] = commands
    assert (command.kind, command.concern_id, command.text) == (kind, 7, text)
    assert command.due_at == due
    if kind == "done":
        assert command.item == 2


def test_english_dates_read_as_before_with_the_other_languages_known() -> None:
    tz = ZoneInfo("Europe/Lisbon")
    assert parse_due("tomorrow at 3", NOW, tz) == datetime(2026, 11, 24, 17, tzinfo=UTC)  # no time read: close
    assert parse_due("Mar 3", NOW, tz) == datetime(2027, 3, 3, 17, tzinfo=UTC)
    assert parse_due("25 Nov", NOW, tz) == datetime(2026, 11, 25, 17, tzinfo=UTC)


def test_an_owner_is_told_in_their_language_what_was_recorded_and_what_was_not_understood() -> None:
    from service.core.owner_commands import Problem

    commands, problems = parse_commands("C-7: Techniker schicken bis gestern\nC-8: irgendwas\nC-9: x bis <wann>",
                                        NOW, ZoneInfo("Europe/Berlin"))
    assert not commands and [p.code for p in problems] == ["past_date", "no_date", "placeholder"]
    steps = [{"kind": "plan", "token": "C-7", "number": 1, "text": "Techniker schicken", "owner": "chef@x.example",
              "due": locale_dates.moment(datetime(2026, 11, 27, 14, tzinfo=UTC), "Europe/Berlin", "de")},
             {"kind": "done", "token": "C-7", "number": 2, "text": "Anrufen"}, {"kind": "resolve", "token": "C-8"}]
    context = {"recorded": ["(the English lines)"], "steps": steps, "team_name": "Care", "lang": "de",
               "problems": [*problems, Problem("C-5: x", "there is no concern C-5", "no_concern", "C-5"),
                            Problem("C-6 done", "C-6 is already resolved", "refused")]}
    made = render("confirm", context)
    assert made.text.startswith("Übernommen:\n  - C-7 Nr. 1: Techniker schicken (zuständig chef@x.example, fällig "
                                "Freitag, 27. November, 15:00 CET)\n  - C-7 Nr. 2 erledigt: Anrufen\n  - C-8 gelöst\n")
    assert "das Datum „gestern“ liegt in der Vergangenheit" in made.text and "es gibt kein Anliegen C-5" in made.text
    assert "bis <Datum>" in made.text and "&lt;Datum&gt;" in made.html
    assert "(C-6 is already resolved)" in made.text  # a refusal the store words: as it was worded
    assert render("confirm", {**context, "steps": [], "problems": []}).text.startswith("Es wurde nichts übernommen.")
    # English reads its lines as before
    assert render("confirm", {**context, "lang": "en"}).text.startswith("Recorded:\n  - (the English lines)")
