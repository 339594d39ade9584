"""Requests to stop our mail that carry no verb of stopping: a data subject's objection, "that's enough
emails", and the German and Dutch wish with its verb moved ("ich möchte diese E-Mails nicht mehr erhalten").
Pure; each reads one clause's tokens (`stop_text.tokens`) and says whether it asks."""

from __future__ import annotations

from service.core import stop_words as w
from service.core.stop_objects import Named, noun, sending, skip


def objection(own: list[str], clause: list[str]) -> bool:
    """An objection to our sending: "I object to receiving your emails", "ich widerspreche der Zusendung von
    Werbung", "me opongo a que ... enviarme comunicaciones"; not "ich widerspreche der Rechnung"."""
    at = next((k for k, t in enumerate(own) if t in w.OBJECTS), None)
    if at is None or any(t in w.NEGATIONS for t in own[max(0, at - 3):at]) or any(t in w.WHY for t in own):
        return False
    k = skip(clause, at + 1, w.OBJECTED_VIA | w.DETERMINERS | w.PERSONS)
    if k >= len(clause):
        return False
    if clause[k - 1] in {"que", "che", "dat", "dass"}:  # "a que utilicen mis datos para enviarme comunicaciones"
        rest = clause[k:k + 12]
        sent = any(sending(t) or t in w.RECEIVES for t in rest) and any(noun(t) is Named.MAIL for t in rest)
        return sent
    t = clause[k]
    return bool(sending(t)) or t in w.RECEIVES or t in w.SENDINGS or noun(t) is Named.MAIL


def unwanted_mail(own: list[str]) -> bool:
    """German and Dutch, where the verb moves: "gelieve mij geen mails meer te sturen", "ik ontvang liever
    geen herinneringen meer", "ich möchte diese E-Mails nicht mehr erhalten": a wish, a "no (more)", our
    mail named, and a verb of sending or receiving; not a question ("warum bekomme ich keine Mails mehr?")."""
    if not any(t in w.POLITE or t in w.DESIRES for t in own) or any(t in w.WHY for t in own):
        return False
    if not any(noun(t) is Named.MAIL for t in own):
        return False
    if any(t in w.STOPS_LAST for t in own) or (any(t in w.STELLEN for t in own) and {"ab", "ein"} & set(own)):
        return True  # "die Nachfragen bitte abstellen", "stellen Sie die Erinnerungen ab"
    none = any(t in {"geen", "keine", "keinen", "kein"} for t in own)
    if none and {"meer", "mehr"} & set(own):
        return True  # "bitte keine Nachfragen mehr"
    no_more = any(t in {"niet", "nicht"} and own[k + 1:k + 2] in (["meer"], ["mehr"]) for k, t in enumerate(own))
    # "ich will diese Mails nicht mehr", "dit soort mails wil ik niet meer": the wish alone carries it
    wished = any(t in w.DESIRES for t in own) and no_more
    return (none or no_more) and (wished or any(sending(t) or t in w.RECEIVES for t in own))


def enough(own: list[str]) -> bool:
    """"That's enough emails for me", "das reicht jetzt mit den Mails", "ça fait assez de mails": our mail named
    beside a word of enough, not asked about."""
    at = next((k for k, t in enumerate(own) if t in w.ENOUGH), None)
    if at is None or any(t in w.WHY or t in w.NEGATIONS or t in w.REPLIES for t in own):
        return False
    return any(noun(t) is Named.MAIL for t in own[at + 1:at + 6])
