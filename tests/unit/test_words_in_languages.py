"""What reads clients' words reads them in the seven languages: all-is-well replies and urgent subjects."""

from __future__ import annotations

import pytest

from service.core.checkin_policy import says_all_is_well
from service.core.rules.concern_rules import _URGENT_RE

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
    assert _URGENT_RE.search(subject)


@pytest.mark.parametrize("subject", ["Invoice for March", "Factura de marzo", "Rechnung März", "Facture de mars",
                                     "Resubmitted order", "Fattura di aprile", "Factuur april"])
def test_a_plain_subject_is_not_urgent(subject: str) -> None:
    assert not _URGENT_RE.search(subject)
