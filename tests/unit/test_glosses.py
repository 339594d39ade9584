"""English glosses for plain words of feeling: written where the feeling is said, never where it is denied."""

from __future__ import annotations

import re

import pytest

from service.detector import glosses
from service.detector.model import normalise

try:  # re's own parser, to read the pattern's structure (Python 3.11 renamed sre_parse)
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]


@pytest.mark.parametrize(("text", "gloss"), [
    ("Je suis assez inquiet pour lundi.", "worried"),
    ("Ça m'inquiète beaucoup.", "worried"),
    ("Ich mache mir etwas Sorgen wegen der Abrechnung.", "worried"),
    ("Estou com medo de perder o prazo.", "afraid"),
    ("Ik ben bang dat het misgaat.", "afraid"),
    ("Sono un po' agitata per domani.", "nervous"),
    ("C'est inadmissible, trois semaines sans réponse.", "unacceptable"),
    ("Ich bin sehr enttäuscht von Ihrem Service.", "disappointed"),
    ("Estoy harta de llamar.", "angry"),
    ("Ando muy agobiada con el cierre del trimestre.", "worried"),
    ("Me entra el pánico solo de pensarlo.", "afraid"),
    ("Um serviço péssimo, do princípio ao fim.", "terrible"),
    ("Siamo del tutto insoddisfatti.", "disappointed"),
    ("Ik heb er een onrustig gevoel over.", "worried"),
    ("El día 30 tengo que dejar el piso y me está dando ansiedad.", "worried"),
    ("Cette attente me rend anxieuse.", "worried"),
    ("Empiezo a temer que no la voy a ver nunca.", "afraid"),
    ("Ik ben angstig voor de uitslag.", "worried"),
    ("La date limite de vendredi me préoccupe.", "worried"),
    ("Je stresse pour le déménagement de samedi.", "nervous"),
    ("Mir graut vor der Umstellung am Montag.", "afraid"),
])
def test_a_plain_word_of_feeling_gets_its_english_gloss(text: str, gloss: str) -> None:
    assert re.search(rf"\w {gloss}\b", normalise(text)), normalise(text)


@pytest.mark.parametrize("text", [
    "Ne vous inquiétez pas, tout est réglé.",       # French negation opens before the verb
    "Ne t'inquiète pas pour la facture.",
    "No se preocupe, ya está pagado.",
    "Keine Sorge, das hat Zeit.",
    "Maak je geen zorgen, het is opgelost.",
    "Bitte sorgen Sie dafür, dass die Rechnung bis Montag da ist.",  # "make sure", not worry
    "Wij zorgen voor de levering op dinsdag.",       # "take care of"
    "Non si preoccupi, nessun problema.",
    "La stufa dell'ufficio è nuova.",                # Italian for a stove, not "fed up"
    "Sin agobios, cuando podáis.",
    "Temos a fatura de março, obrigado.",            # Portuguese "we have", not "we fear"
    "A catastrophe and some pessimism, in English.",   # English words are never glossed
    "She stresses that the stressful part is over.",
    "Ne vous préoccupez pas de la facture.",
])
def test_a_denied_word_or_an_everyday_sense_gets_none(text: str) -> None:
    out = normalise(text)
    assert not re.search(r"\b(?:worried|afraid|nervous|unacceptable|disappointed|terrible|angry)\b", out), out


def test_english_text_is_read_as_before() -> None:
    text = "I'm worried and honestly angry: the refund never came."
    assert glosses.gloss(text.lower()) == text.lower()


def test_the_pattern_cannot_backtrack() -> None:
    # a hostile message may be one 100 KB word: the scan must never read a character twice
    parsed = sre_parse.parse(glosses._PATTERN.pattern)
    assert parsed[0][0] == sre_parse.ASSERT_NOT and parsed[0][1][0] == -1  # (?<!\w) before every pattern

    def greedy(items: object) -> list[object]:
        found: list[object] = []
        for op, arg in items:  # type: ignore[attr-defined]
            if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and arg[1] > 1:
                found.append(op)
            if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
                found += greedy(arg[2])
            elif op == sre_parse.SUBPATTERN:
                found += greedy(arg[-1])
            elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
                found += greedy(arg[1])
            elif op == sre_parse.BRANCH:
                for branch in arg[1]:
                    found += greedy(branch)
        return found

    assert greedy(parsed) == []
    word = "preocupa" + "a" * 100_000
    assert glosses.gloss(word) == word + " worried"
