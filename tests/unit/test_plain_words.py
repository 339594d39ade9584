"""The shipped detector hears plain worry and plain complaint in every language it reads.

Issue 19's hidden mail caught the model calling "je suis assez inquiet" calm: its training mail in the
six new languages said worry mostly indirectly. These sentences were written for this test alone and
are in no training file, so they measure what the model learned, not what it memorised.
"""

from __future__ import annotations

import pytest

from service.detector.detect import detect
from service.mailformat.parse import strip_quotes

# (language, plain worry, plain complaint, calm with the same kind of words)
PLAIN: dict[str, dict[str, list[str]]] = {
    "en": {
        "anxiety": [
            "I'm quite anxious about the server move on Saturday.",
            "Honestly I'm scared we'll miss the filing deadline.",
            "We are nervous that payroll won't run on the 28th.",
            "I keep worrying about the inspection next week.",
        ],
        "complaint": [
            "This is unacceptable, the invoice is wrong for the third time.",
            "Nobody has answered my emails in two weeks. Very disappointed.",
            "You charged me twice and still haven't refunded it.",
            "The engineer never turned up and no one called to say why.",
        ],
        "none": [
            "Thanks, the new invoice arrived and it's all fine.",
            "Could you send me the slides from Tuesday's meeting?",
            "No worries at all, next week works for us.",
        ],
    },
    "es": {
        "anxiety": [
            "Estoy muy nerviosa por la mudanza del sábado.",
            "Me preocupa mucho que la nómina no salga a tiempo.",
            "Tengo miedo de que se pierdan las fotos del servidor.",
            "Estamos angustiados con la inspección de la semana que viene.",
        ],
        "complaint": [
            "Es inaceptable, es la tercera vez que la factura llega mal.",
            "Llevo dos semanas sin respuesta. Estoy muy decepcionado con ustedes.",
            "Me han cobrado dos veces y todavía no me han devuelto el dinero.",
            "El técnico no vino y nadie me avisó.",
        ],
        "none": [
            "Gracias, ya me llegó la factura nueva y está todo bien.",
            "¿Me pueden mandar la presentación de la reunión del martes?",
            "Sin problema, la semana que viene nos va perfecto.",
        ],
    },
    "de": {
        "anxiety": [
            "Ich bin ziemlich nervös wegen des Umzugs am Samstag.",
            "Wir haben Angst, dass die Gehälter nicht pünktlich kommen.",
            "Mir macht die Prüfung nächste Woche große Sorgen.",
            "Ich befürchte, dass die Daten verloren gegangen sind.",
        ],
        "complaint": [
            "Das ist inakzeptabel, die Rechnung ist schon zum dritten Mal falsch.",
            "Seit zwei Wochen bekomme ich keine Antwort. Ich bin sehr enttäuscht.",
            "Sie haben doppelt abgebucht und bis heute nichts erstattet.",
            "Der Techniker ist nicht gekommen und niemand hat Bescheid gesagt.",
        ],
        "none": [
            "Danke, die neue Rechnung ist angekommen und alles passt.",
            "Könnten Sie mir die Folien vom Termin am Dienstag schicken?",
            "Kein Problem, nächste Woche passt uns gut.",
        ],
    },
    "fr": {
        "anxiety": [
            "Je suis très angoissée par le déménagement de samedi.",
            "Nous avons peur que les salaires ne partent pas à temps.",
            "Le contrôle de la semaine prochaine m'inquiète beaucoup.",
            "Je crains que les données aient été perdues.",
        ],
        "complaint": [
            "C'est inacceptable, la facture est fausse pour la troisième fois.",
            "Aucune réponse depuis deux semaines. Je suis très déçu.",
            "Vous m'avez prélevé deux fois et toujours pas remboursé.",
            "Le technicien n'est jamais venu et personne ne m'a prévenu.",
        ],
        "none": [
            "Merci, la nouvelle facture est bien arrivée, tout est en ordre.",
            "Pourriez-vous m'envoyer les diapositives de la réunion de mardi ?",
            "Pas de souci, la semaine prochaine nous convient.",
        ],
    },
    "pt": {
        "anxiety": [
            "Estou muito nervosa com a mudança de sábado.",
            "Temos medo de que os salários não saiam a tempo.",
            "A inspeção da próxima semana está a deixar-me muito preocupado.",
            "Receio que os dados se tenham perdido.",
        ],
        "complaint": [
            "Isto é inaceitável, a fatura veio errada pela terceira vez.",
            "Estou há duas semanas sem resposta. Estou muito desiludido.",
            "Cobraram-me duas vezes e ainda não devolveram o dinheiro.",
            "O técnico não apareceu e ninguém me avisou.",
        ],
        "none": [
            "Obrigado, a nova fatura chegou e está tudo certo.",
            "Podem enviar-me os slides da reunião de terça-feira?",
            "Sem problema, a próxima semana serve-nos bem.",
        ],
    },
    "it": {
        "anxiety": [
            "Sono molto agitata per il trasloco di sabato.",
            "Abbiamo paura che gli stipendi non partano in tempo.",
            "L'ispezione della settimana prossima mi preoccupa parecchio.",
            "Temo che i dati siano andati persi.",
        ],
        "complaint": [
            "È inaccettabile, la fattura è sbagliata per la terza volta.",
            "Da due settimane nessuna risposta. Sono molto deluso.",
            "Mi avete addebitato due volte e non mi avete ancora rimborsato.",
            "Il tecnico non è venuto e nessuno mi ha avvisato.",
        ],
        "none": [
            "Grazie, la nuova fattura è arrivata ed è tutto a posto.",
            "Potreste mandarmi le slide della riunione di martedì?",
            "Nessun problema, la settimana prossima ci va benissimo.",
        ],
    },
    "nl": {
        "anxiety": [
            "Ik ben erg zenuwachtig voor de verhuizing van zaterdag.",
            "We zijn bang dat de salarissen niet op tijd worden betaald.",
            "De inspectie van volgende week baart me veel zorgen.",
            "Ik vrees dat de gegevens verloren zijn gegaan.",
        ],
        "complaint": [
            "Dit is onacceptabel, de factuur klopt voor de derde keer niet.",
            "Al twee weken geen antwoord. Ik ben erg teleurgesteld.",
            "U hebt twee keer afgeschreven en nog steeds niets terugbetaald.",
            "De monteur is niet gekomen en niemand heeft iets laten weten.",
        ],
        "none": [
            "Bedankt, de nieuwe factuur is binnen en alles klopt.",
            "Kunt u mij de dia's van de vergadering van dinsdag sturen?",
            "Geen probleem, volgende week komt ons goed uit.",
        ],
    },
}

# the sentences issue 19 quoted from the owner's hidden mail
ISSUE_QUOTES = [
    ("fr", "anxiety", "Bonjour, je suis assez inquiet pour la livraison de lundi."),
    ("de", "anxiety", "Hallo, ich mache mir etwas Sorgen wegen der Abrechnung."),
    ("pt", "anxiety", "Olá, estou com medo de não receber a encomenda a tempo."),
    ("fr", "complaint", "C'est inadmissible, trois semaines sans réponse."),
]

CASES = [(lang, label, text) for lang, by_label in PLAIN.items() for label, texts in by_label.items()
         for text in texts]


def _hears(label: str, text: str) -> bool:
    # a worry also read as a complaint is still heard: the worker files it and acknowledges it
    verdict = detect(text)
    return verdict.label == "none" if label == "none" else label in verdict.labels


@pytest.mark.parametrize(("lang", "label", "text"), ISSUE_QUOTES)
def test_the_issues_quoted_clients_are_heard(lang: str, label: str, text: str) -> None:
    verdict = detect(text)
    assert verdict.lang == lang
    assert label in verdict.labels, (verdict.label, verdict.scores)


@pytest.mark.parametrize("lang", sorted(PLAIN))
def test_plain_words_are_heard_in_each_language(lang: str) -> None:
    # a rate, not every sentence: a learned model errs on some; nine in ten is the floor for plain words
    cases = [(label, text) for (case_lang, label, text) in CASES if case_lang == lang]
    missed = [(label, text, detect(text).scores) for label, text in cases if not _hears(label, text)]
    assert len(missed) <= len(cases) // 10, missed


# the courteous frame most clients put round their words: it must not make a worry or a complaint calm
FRAMES = {
    "en": ("Hi Sarah,", "Thanks so much,\nPaul"),
    "es": ("Hola Marta:", "Muchas gracias,\nPablo"),
    "de": ("Hallo Frau Berg,", "Danke und viele Grüße\nPaul Maier"),
    "fr": ("Bonjour Madame,", "Merci d'avance,\nPaul"),
    "it": ("Buongiorno,", "Grazie mille,\nPaolo"),
    "nl": ("Hoi Sanne,", "Alvast bedankt,\nPieter"),
    "pt": ("Olá Ana,", "Obrigado,\nJoão"),
}


@pytest.mark.parametrize("lang", sorted(PLAIN))
def test_plain_words_are_heard_in_a_courteous_frame(lang: str) -> None:
    greeting, closing = FRAMES[lang]
    cases = [(label, strip_quotes(f"{greeting}\n\n{text}\n\n{closing}"))  # the new words, as the worker reads them
             for (case_lang, label, text) in CASES if case_lang == lang]
    missed = [(label, text, detect(text).scores) for label, text in cases if not _hears(label, text)]
    assert len(missed) <= len(cases) // 10, missed
