"""The greeting and the closing of an email are not what the detector reads; the client's words are."""

from __future__ import annotations

import re

import pytest

from service.detector import courtesy
from service.detector.courtesy import without_courtesies
from service.detector.model import normalise


@pytest.mark.parametrize(("text", "words"), [
    ("Hi Sarah,\n\nI'm a bit anxious about the audit on Tuesday.\n\nThanks so much,\nPaul",
     "I'm a bit anxious about the audit on Tuesday."),
    ("Re: audit\n\nBonjour,\n\nLa date limite de vendredi me préoccupe.\n\nMerci d'avance,\nPaul",
     "Re: audit\n\nLa date limite de vendredi me préoccupe."),
    ("Sehr geehrte Frau Dr. Berg,\nMir graut vor der Umstellung.\nDanke und viele Grüße\nPaul Maier\nMaier GmbH",
     "Mir graut vor der Umstellung."),
    ("Buenos días a todos:\nel pedido no llegó.\nUn saludo,\nMarta", "el pedido no llegó."),
    ("Olá,\n\nEstou aflita com o prazo de sexta.\n\nObrigada,\nAna", "Estou aflita com o prazo de sexta."),
    ("Buongiorno,\nsono in ansia per il collaudo.\nCordiali saluti\nPaolo Neri", "sono in ansia per il collaudo."),
    ("Hoi Sanne,\nIk zie op tegen de migratie.\nAlvast bedankt,\nPieter", "Ik zie op tegen de migratie."),
    ("hi sarah, im worried abt the move", "im worried abt the move"),
    ("Hi, nobody came on Tuesday.\nCheers,\nTom", "nobody came on Tuesday."),
    ("Dear Sarah, the audit worries me.", "the audit worries me."),
    ("Sehr geehrte Frau Dr. Berg\nIch bin nervös.", "Ich bin nervös."),
    ("Caro Marco, il preventivo è sbagliato.", "il preventivo è sbagliato."),
    ("Sehr geehrte Damen und Herren,\nbis heute fehlt die Gutschrift.", "bis heute fehlt die Gutschrift."),
    ("Geachte heer Jansen,\nde factuur klopt niet.", "de factuur klopt niet."),
    ("Hi! Nobody called back.", "Nobody called back."),
])
def test_the_frame_goes_and_the_words_stay(text: str, words: str) -> None:
    assert " ".join(without_courtesies(text).split()) == " ".join(words.split())


@pytest.mark.parametrize("text", [
    "Thanks for nothing.\nPaul",                   # a sentence of its own, not a formula
    "Danke für nichts.\nPaul",
    "gracias por nada\nPaul",                      # said without a full stop: still not a closing
    "Merci de me rappeler avant lundi.\nPaul",
    "hola me preocupa la entrega",                 # a greeting that runs into the words, unpunctuated
    "Hey I am worried!",
    "Hi I am worried, the audit is on Monday.",
    "hey im worried,\nthe audit is monday",
    "Best case we lose a week.",                   # formulas that are also everyday words
    "The app crashed again.\nYours is the worst app.",
    "Morning meeting moved again, third time.",
    "Caro demais, o preço subiu outra vez.",
    "Thanks!",                                     # nothing but courtesy: read as it is
])
def test_words_that_only_look_like_a_frame_stay(text: str) -> None:
    assert without_courtesies(text) == text


def test_a_closing_above_a_long_paragraph_is_not_the_end() -> None:
    text = ("The delivery is late.\nThanks,\nAnd another thing: the invoice lists twelve seats where we have "
            "nine and nobody answers the phone")
    assert without_courtesies(text) == text


def test_the_detector_reads_without_the_frame() -> None:
    framed = "Hallo Frau Berg,\n\nDie Frist am Freitag bereitet mir Sorgen.\n\nDanke und viele Grüße\nPaul"
    assert normalise(framed).split() == normalise("Die Frist am Freitag bereitet mir Sorgen.").split()


def test_the_patterns_only_ever_see_short_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    class Recording:
        def __init__(self, pattern: re.Pattern[str]) -> None:
            self.pattern = pattern

        def fullmatch(self, line: str) -> re.Match[str] | None:
            seen.append(line)
            return self.pattern.fullmatch(line)

        def match(self, line: str) -> re.Match[str] | None:
            seen.append(line)
            return self.pattern.match(line)

    for name in ("_GREETING_LINE_RE", "_GREETING_START_RE", "_CLOSING_LINE_RE"):
        monkeypatch.setattr(courtesy, name, Recording(getattr(courtesy, name)))
    hostile = "Hi " + "Sarah " * 20_000 + "\n" + "\n".join(["Thanks " * 5_000] * 3) + "\nThanks,\nPaul"
    assert without_courtesies(hostile).endswith("Thanks " * 5_000)
    assert seen and max(len(line) for line in seen) <= courtesy._LINE_MAX
