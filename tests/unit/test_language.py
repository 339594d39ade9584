"""The language of a message, offline: the languages clients write in, and too little to tell."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.detector import language
from service.detector.language import SUPPORTED, identify
from service.detector.training.datasets import read_user_file

DATA = Path(__file__).resolve().parents[2] / "data"

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


def test_an_email_the_model_is_unsure_of_as_one_line_is_read_line_by_line() -> None:
    text = ("Vistoria – apto 804\n\nBom dia, Sr. Renato\n\nA vistoria do apartamento ficou marcada pra quinta. "
            "Só queria saber se vocês trazem a escada ou se a gente precisa alugar uma.\n\nAbraço,\nCíntia")
    assert language._best(text)[1] < language.SURE  # as one line: a guess
    found = identify(text)
    assert found.code == "pt" and found.confidence >= language.SURE


def test_labelled_mail_in_every_language_is_identified() -> None:
    # every email written for the detector, in its folder's language: as one line, 1.3% were wrong or left
    # without a language (bench/language_lines.py)
    mail = [(path.parent.name if "client_emails_i18n" in path.parts else "en", e.text)
            for path in sorted(DATA.glob("client_emails*/**/*.jsonl")) if path.name != "social.jsonl"
            for e in read_user_file(path)]
    assert len(mail) > 8000
    found = [(lang, identify(text).code, text[:80]) for lang, text in mail]
    missed = [case for case in found if case[0] != case[1]]
    assert len(missed) <= len(mail) // 200, missed[:20]


def test_few_lines_vote_however_long_the_email(monkeypatch: pytest.MonkeyPatch) -> None:
    model = language._model()
    calls = []

    def count(sample: str, **kw: object) -> object:
        calls.append(sample)
        return model.detect(sample, **kw)

    monkeypatch.setattr(language, "_model", lambda: type("Counted", (), {"detect": staticmethod(count)})())
    monkeypatch.setattr(language, "SURE", 1.01)  # the lines are always asked
    text = "ok\n" * 50_000 + "ja, also das ist hier so eine Zeile mit ein paar Wörtern, tja na gut\n" * 50_000
    identify(text)
    assert len(calls) == 1 + language.MAX_VOTING_LINES < 1_000  # the whole, then a bounded few lines


@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("de", "Am 3. Dezember kam nichts an. Laut Hrn. Dr. Meier ist das normal, z. B. bei Paketen. Ich bin sauer!",
     ["Am 3. Dezember kam nichts an.", "Laut Hrn. Dr. Meier ist das normal, z. B. bei Paketen.", "Ich bin sauer!"]),
    ("fr", "M. Dupont m'a dit que c'était réglé, cf. votre mail. Or rien n'a changé ! Je suis inquiète.",
     ["M. Dupont m'a dit que c'était réglé, cf. votre mail.", "Or rien n'a changé !", "Je suis inquiète."]),
    ("es", "El Sr. García dijo que lo arreglarían, p. ej. el lunes. No lo han hecho. Estoy harta.",
     ["El Sr. García dijo que lo arreglarían, p. ej. el lunes.", "No lo han hecho.", "Estoy harta."]),
    ("nl", "Dhr. Jansen zei dat het o.a. maandag opgelost zou zijn. Dat is niet zo.",
     ["Dhr. Jansen zei dat het o.a. maandag opgelost zou zijn.", "Dat is niet zo."]),
    ("pt", "O Sr. Silva disse que estava resolvido, p. ex. na segunda. Não está.",
     ["O Sr. Silva disse que estava resolvido, p. ex. na segunda.", "Não está."]),
    ("it", "Il sig. Rossi ha detto che era risolto, ad es. lunedì. Non è vero.",
     ["Il sig. Rossi ha detto che era risolto, ad es. lunedì.", "Non è vero."]),
    ("en", "Mr. Smith said it was fixed, e.g. on Monday. We moved to the UK. Then it broke.\n\nBest,\nAna",
     ["Mr. Smith said it was fixed, e.g. on Monday.", "We moved to the UK.", "Then it broke.", "Best,", "Ana"]),
    (None, "- first item\n- second item\nStill broken", ["- first item", "- second item", "Still broken"]),
])
def test_evidence_sentences_split_by_the_languages_own_abbreviations(
        lang: str | None, text: str, expected: list[str]) -> None:
    from service.detector.detect import sentences

    assert sentences(text, lang) == expected


def test_evidence_is_the_clients_own_sentence_in_their_language() -> None:
    from service.detector.detect import detect

    verdict = detect("Bonjour,\n\nM. Dupont m'avait promis un remboursement. C'est inadmissible, je suis furieux "
                     "et personne ne me rappelle.\n\nCordialement,\nPaul")
    assert verdict.lang == "fr" and verdict.label == "complaint" and verdict.evidence
    # whole sentences as she wrote them: "M." does not end one
    assert set(verdict.evidence) <= {"M. Dupont m'avait promis un remboursement.",
                                     "C'est inadmissible, je suis furieux et personne ne me rappelle."}


def test_a_language_with_its_own_thresholds_is_decided_at_them() -> None:
    import dataclasses

    from service.detector.detect import Thresholds, detect_many
    from service.detector.model import load_model

    shipped = load_model(None)
    strict_french = dataclasses.replace(shipped, meta={
        **shipped.meta, "thresholds_by_lang": {"fr": {"complaint": 0.99, "anxiety": 0.99}}})
    texts = [("C'est inadmissible : troisième facture fausse et personne ne me rappelle.", ""),
             ("This is unacceptable: the third wrong invoice and nobody calls me back.", "")]
    before = detect_many(texts, model=shipped)
    after = detect_many(texts, model=strict_french)
    assert [v.label for v in before] == ["complaint", "complaint"]
    assert [v.label for v in after] == ["none", "complaint"]  # French at its own, English at the model's
    assert strict_french.threshold("complaint", "fr") == 0.99
    assert strict_french.threshold("complaint", "de") == shipped.threshold("complaint")
    # a threshold set by the operator is set for every language
    assert detect_many(texts, model=strict_french, thresholds=Thresholds(complaint=0.3))[0].label == "complaint"


@pytest.mark.parametrize(("text", "lang"), [
    # Portuguese the small model reads as Spanish, or cannot tell: the words only one of the two writes decide
    ("Licença de bebidas\n\nBom dia Dra. Sílvia,\n\nO bar abre a 31 de dezembro, para o réveillon. Ainda não "
     "temos a licença e a câmara não responde.", "pt"),
    ("Troca de ténis – tamanho errado\n\nOlá,\n\nComprei uns ténis na vossa loja online, tamanho 42, e "
     "enviaram um 38. Pedi a troca há 10 dias e ainda não vieram recolher.", "pt"),
    ("Cambio de talla\n\nHola, compré unas zapatillas en su tienda y me llegaron de otra talla. ¿Pueden "
     "recogerlas?", "es"),
])
def test_portuguese_and_spanish_are_told_apart_by_their_own_words(text: str, lang: str) -> None:
    assert identify(text).code == lang


def test_the_iberian_tiebreak_reads_a_bounded_head() -> None:
    # hostile input: a megabyte of Portuguese words is read to its first words only
    text = "Bom dia " + "não você um com " * 250_000
    assert identify(text).code == "pt"
