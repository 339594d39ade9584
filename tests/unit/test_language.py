"""The language of a message, offline: the languages clients write in, and too little to tell."""

from __future__ import annotations

import pytest

from service.detector.language import SUPPORTED, identify

SAMPLES = [
    ("en", "We still have not received the corrected invoice and the audit is on Monday."),
    ("es", "Buenas tardes, la factura vuelve a llegar mal y nadie me contesta los correos."),
    ("de", "Ich mache mir etwas Sorgen wegen der Umstellung am Freitag, klappt das wirklich?"),
    ("fr", "Je suis assez inquiet pour la mise en production de lundi, rien n'est prêt."),
    ("pt", "Estou com medo de perder os dados da empresa na migração de amanhã."),
    ("it", "Sono un po' preoccupato per la scadenza di venerdì, siamo ancora in ritardo."),
    ("nl", "Ik maak me een beetje zorgen over de verhuizing van volgende week."),
]


@pytest.mark.parametrize(("lang", "text"), SAMPLES)
def test_each_supported_language_is_told_apart(lang: str, text: str) -> None:
    found = identify(text)
    assert found.code == lang and found.confidence >= 0.5


def test_every_supported_language_has_a_sample() -> None:
    assert {lang for lang, _ in SAMPLES} == set(SUPPORTED)


@pytest.mark.parametrize("text", ["", "ok", "?!", "12 34", "👍"])
def test_too_little_text_has_no_language(text: str) -> None:
    assert identify(text).code is None
