"""What reads clients' words reads them in the seven languages: all-is-well replies and urgent subjects."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from service.core.settled_reply import says_all_is_well
from service.core.urgency import marked_urgent
from service.mailformat.autoreply import auto_reply_body
from service.mailformat.parse import parse_message

SETTLED = [
    "Thanks, all sorted now.", "All good, no further issues.",
    "Muchas gracias, ya está solucionado.", "Perfecto, ya funciona todo.",
    "Danke, hat sich erledigt.", "Super, funktioniert wieder einwandfrei.",
    "Merci, tout est réglé de notre côté.", "Parfait, ça fonctionne maintenant.",
    "Obrigada, já está resolvido.", "Tudo certo por aqui, obrigado!",
    "Grazie, è tutto sistemato.", "Perfetto, ora funziona.",
    "Bedankt, het is opgelost.", "Top, werkt weer prima.",
]
NOT_SETTLED = [
    "It never works now, same as before.", "Ya no funciona nada.", "Es funktioniert jetzt nicht mehr.",
    "Ça fonctionne pas du tout.", "Non funziona di nuovo, come ieri.", "Het werkt nu niet.",
    "Não está tudo bem, a fatura continua errada.", "Nada está resuelto todavía.",
]


@pytest.mark.parametrize("text", SETTLED)
def test_a_client_saying_it_is_settled_is_heard(text: str) -> None:
    assert says_all_is_well(text)


@pytest.mark.parametrize("text", NOT_SETTLED)
def test_a_negated_all_clear_is_not_one(text: str) -> None:
    assert not says_all_is_well(text)


@pytest.mark.parametrize("subject", [
    "URGENT: payroll file", "Urgente: factura duplicada", "Dringend: Rechnung falsch", "Urgence - facture",
    "Urgência na entrega", "Urgente, il server è giù", "Spoed: verhuizing morgen", "Bitte sofort zurückrufen",
    "Réponse dès que possible svp", "Por favor, lo antes posible", "Graag zo snel mogelijk",
])
def test_an_urgent_subject_is_read_in_each_language(subject: str) -> None:
    assert marked_urgent(subject)


@pytest.mark.parametrize("subject", ["Invoice for March", "Factura de marzo", "Rechnung März", "Facture de mars",
                                     "Resubmitted order", "Fattura di aprile", "Factuur april"])
def test_a_plain_subject_is_not_urgent(subject: str) -> None:
    assert not marked_urgent(subject)


@pytest.mark.parametrize(("text", "well"), [
    ("Solucionado.", True), ("ok ya esta arreglado\n\nEnviado desde mi Android", True),
    ("Buongiorno, non più. Grazie.", True), ("Läuft wieder problemlos, danke!", True),
    ("Va alla grande, zero problemi da quando l'avete cambiato.", True),
    ("Funcionó un día y ahora ya no.", False), ("Il rimborso è arrivato, ma solo in parte.", False),
    ("Les aviso en cuanto esté arreglado.", False), ("Aspettate a chiudere, il router continua a riavviarsi.", False),
    ("Ha funzionato per un giorno, poi stamattina di nuovo lo stesso errore.", False),
    ("¿Ya está resuelto?", False), ("Ça marche pas.", False),
])
def test_settled_replies_are_read_by_meaning_not_by_one_phrase(text: str, well: bool) -> None:
    assert says_all_is_well(text) is well


@pytest.mark.parametrize(("subject", "urgent"), [
    ("Urgentísimo: requerimiento de Hacienda", True), ("Prioridad alta: cargo indebido", True),
    ("ZSM graag: factuur", True), ("No es urgente: duda sobre el contrato", False),
    ("Nicht dringend, aber wichtig", False), ("Danno subito durante il trasloco", False),
])
def test_urgency_is_read_from_stems_and_a_calm_subject_is_not_urgent(subject: str, urgent: bool) -> None:
    assert marked_urgent(subject) is urgent


@pytest.mark.parametrize(("body", "machine"), [
    ("Respuesta automática: estoy fuera hasta el 21 de abril con acceso limitado al correo.", True),
    ("This is an automatic reply. I am away until 3 May.", True),
    ("Respuesta automática: vuestra respuesta automática no me sirve de nada.", False),
    ("Estoy fuera hasta el lunes, pero la factura sigue mal.", False),
])
def test_a_body_opening_as_an_automatic_reply_is_one_only_with_an_absence(body: str, machine: bool) -> None:
    assert auto_reply_body(body) is machine


@pytest.mark.parametrize(("subject", "body"), [
    ("Urlaub: Paket trotzdem zugestellt?", "Wir waren im August im Urlaub, das Paket lag dann beim Nachbarn."),
    ("Vacaciones y la factura de julio", "Estuvimos de vacaciones en julio y nos cobraron dos veces."),
])
def test_a_person_writing_about_their_holiday_is_not_an_automatic_reply(subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ana <ana@example.com>", "help@example.com", subject
    msg.set_content(body)
    assert parse_message(msg.as_bytes()).auto_signals == ()


@pytest.mark.parametrize(("new_text", "subject", "words"), [
    ("", "Re: ¿Se ha solucionado? -> Sí, todo resuelto, pueden cerrar [#C-12]",
     "¿Se ha solucionado? -> Sí, todo resuelto, pueden cerrar"),
    ("  \n", "R: Richiesta chiusa? Sì, tutto risolto, grazie", "Richiesta chiusa? Sì, tutto risolto, grazie"),
    ("Ya funciona.", "Re: ¿Sigue el problema?", "Ya funciona."),
])
def test_a_reply_with_no_words_of_its_own_is_read_by_the_subject_its_writer_typed(
        new_text: str, subject: str, words: str) -> None:
    from service.mailformat.replies import reply_words

    assert reply_words(new_text, subject) == words
    assert says_all_is_well(words)


@pytest.mark.parametrize(("text", "settled"), [
    ("si ora funziona tutto perfetto grazie mille", True),  # Italian "sì", not "if"
    ("Il frigo funziona, questo sì. Però mi avete addebitato 70 euro di uscita.", False),
    ("La línea funciona desde ayer. No obstante, hemos estado once días sin servicio.", False),
    ("Foi solucionado, mas levou 23 dias e nesse tempo perdi vendas.", False),
    ("Não há queixas. Obrigado.", True),
])
def test_a_fifth_writers_settled_forms(text: str, settled: bool) -> None:
    assert says_all_is_well(text) is settled
