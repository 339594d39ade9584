"""Whether a person asks us to stop our automatic mail, read from what their words say. Pure.

"Stop" asks to stop our mail only when our mail is what is to stop. In each clause a request is
found by its verb where a request puts it (first, after "please", "can you", "I want you to"; in
seven languages), then its object is read. `stop` / `arretez de` / `hou op met`: ours if the object
is our mail ("stop these emails") or sending it ("stop emailing me"), not anything else ("stop
charging my card", "stop sending me invoices"). `unsubscribe` / `abmelden` / `darse de baja`: ours
unless what is named is not mail ("from the premium plan"). `remove me from` / `take me off`: ours
only from a list of mail, not "the waiting list" or "the Tuesday delivery schedule". "Don't send
me", "I no longer want to receive", "no more", "keine ... mehr": ours if the object is our mail or
nothing. A bare "stop" names no object: an opt-out when the rest is greetings, sign-offs or talk of
our mail, or carries no concern it could be about. A reply's subject repeats the thread's: unread.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from functools import lru_cache

from service.core import stop_words as w
from service.core.stop_objects import OURS, Named, as_verb, named_by, noun, sending, skip, span, unsubscribe_word
from service.core.stop_text import clauses, fold, tokens
from service.core.stop_wishes import enough, objection, unwanted_mail
from service.mailformat.parse import Inbound
from service.mailformat.replies import has_reply_prefix, is_reply


class Reading(Enum):
    """What one clause says, as far as stopping our mail goes."""

    OPT_OUT = "opt-out"  # asks us to stop our mail
    BARE = "bare"  # asks to stop, naming nothing
    MAIL_TALK = "mail-talk"  # talks about our mail ("I get too many emails")
    FILLER = "filler"  # greeting, thanks, sign-off
    OTHER = "other"


def stop_requested(msg: Inbound, *, concern: bool) -> bool:
    """Whether `msg` asks us to stop our automatic mail (`concern`: the detector found one in it)."""
    return asks_to_stop(msg.new_text, msg.subject, name=msg.from_name, reply=is_reply(msg), concern=concern)


def says_only_stop(msg: Inbound) -> bool:
    """Whether `msg` asks us to stop and says nothing else (greetings and words about our mail aside):
    a detector's verdict on it is on the request itself ("STOP!!!"), not on a concern."""
    readings = _message_readings(msg.new_text, msg.subject, msg.from_name, is_reply(msg))
    asked = Reading.OPT_OUT in readings or Reading.BARE in readings
    return asked and Reading.OTHER not in readings


def asks_to_stop(text: str, subject: str = "", *, name: str = "", reply: bool | None = None,
                 concern: bool = False) -> bool:
    """Whether the words ask us to stop our automatic mail (see the module's docstring).

    `reply`: the message answers another (its subject is then not read); by default, when the
    subject has a reply prefix. `concern`: the detector found a complaint or worry, which a bare
    "stop" may be about.
    """
    readings = _message_readings(text, subject, name, has_reply_prefix(subject) if reply is None else reply)
    if Reading.OPT_OUT in readings:
        return True
    if Reading.BARE not in readings:
        return False
    # "FOURTH email this week. Stop.": a bare stop beside talk of our mail is about our mail
    return not concern or Reading.OTHER not in readings or Reading.MAIL_TALK in readings


@lru_cache(maxsize=256)  # asked by three rules of the same message
def _message_readings(text: str, subject: str, name: str, reply: bool) -> tuple[Reading, ...]:
    """The readings of the subject (unless the message is a reply) and of each clause of the text."""
    names = frozenset(fold(name).split())
    readings = _readings(text, names)
    if subject and (not reply or all(r is Reading.FILLER for r in readings)):
        # a reply with no words of its own says what it says in the subject it typed: "Re: ... - NÃO ME ESCREVAM"
        readings = _readings(subject, names) + readings
    return tuple(readings)


def _readings(text: str, names: frozenset[str]) -> list[Reading]:
    return [_reading(clause, clause[:_next_start(clause)], names) for clause in clauses(tokens(text))]


def _next_start(clause: list[str]) -> int:
    return next((k for k, t in enumerate(clause) if t in w.CLAUSE_STARTS), len(clause))


# -- one clause -----------------------------------------------------------------------------------

def _reading(clause: list[str], own: list[str], names: frozenset[str]) -> Reading:
    """What the clause (`own`: its words up to the next clause; `clause`: and after) says."""
    if not own or all(t in w.FILLER or t in names for t in own) or (own[0] in w.GREETINGS and len(own) <= 4):
        return Reading.FILLER
    if own[0] in w.CONDITIONALS and tuple(own[:3]) not in w.LEADS:
        return Reading.OTHER  # "If you no longer wish to receive these emails": a footer's offer, not a request
    if len(own) == 1 and own[0] in w.UNSUBSCRIBE_ALONE:
        return Reading.OPT_OUT
    negative = _negative(own)
    if negative is Reading.BARE and clause[len(own):len(own) + 1] == ["que"]:
        # "no quiero que ...": what is not wanted is the subjunctive's ("que me sigan enviando correos" is our
        # mail; "que se renueve mi suscripción" is not)
        negative = _not_wanted(clause[len(own) + 1:len(own) + 13])
    wished = Reading.OPT_OUT if objection(own, clause) or enough(own) else None
    found = [_unsubscribe(own, clause), _stop(clause), _remove(own), negative, wished]
    if Reading.OPT_OUT in found:
        return Reading.OPT_OUT
    if Reading.BARE in found:
        return Reading.BARE
    if any(noun(t) is Named.MAIL or unsubscribe_word(t) for t in own) or _sent_to_me(own):
        return Reading.MAIL_TALK
    return Reading.OTHER


def _sent_to_me(own: list[str]) -> bool:
    """Talk of our sending the writer mail: "why do you keep emailing me" (not "sending me invoices")."""
    for k, t in enumerate(own):
        found = as_verb(t, w.SENDS)
        if found and (found[1] or (k + 1 < len(own) and own[k + 1] in w.PERSONS)):
            return named_by(own, skip(own, k + 1, w.PERSONS | {"to"})) is not Named.OTHER
    return False


def _request_at(clause: Sequence[str]) -> int:
    """Where a request's verb stands: after the words that open a request ("please", "can you")."""
    k = 0
    while k < len(clause):
        for size in (5, 4, 3, 2, 1):
            if tuple(clause[k:k + size]) in w.LEADS:
                k += size
                break
        else:
            return k
    return k


def _unsubscribe(own: list[str], clause: Sequence[str] = ()) -> Reading | None:
    """"Unsubscribe (me) (from X)", "vom Newsletter abmelden", "melden Sie mich ab": ours unless X is not."""
    for k, t in enumerate(own):
        particle = w.SEPARABLE.get(t)
        separated = particle is not None and particle[1] == "unsub" and particle[0] in own[k + 1:]
        if not (unsubscribe_word(t) or as_verb(t, w.UNSUBSCRIBES) or separated):
            continue
        if any(n in w.NEGATIONS for n in own[max(0, k - 3):k]) or (k and own[k - 1] in w.PASSIVE):
            continue  # "don't unsubscribe me", "why was I unsubscribed"
        if k >= 3 and own[k - 1] == "to" and own[k - 2] in {"me", "us"} and own[k - 3] not in w.ALLOWS:
            continue  # "the app keeps asking me to unsubscribe": someone else's wish
        end = own.index(particle[0], k + 1) if separated and particle else k
        after = skip(own, end + 1, w.PERSONS)
        if after + 1 < len(own) and own[after] in {"a", "al", "ao"} and named_by(own, after + 1) is Named.OTHER:
            continue  # "dar de baja a mi hija de la excursión": someone else, off something else
        # "désinscrire ma fille de la sortie scolaire": someone else (Italian "ma" may have ended `own` there)
        rest = clause[after:after + 2] if after == len(own) and len(clause) > len(own) else own[after:after + 2]
        if len(rest) == 2 and rest[0] in w.MINE and rest[1] not in w.ADDRESSES and noun(rest[1]) is Named.OTHER:
            continue
        if after < len(own) and own[after] in w.FROMS:
            named = named_by(own, after + 1)
        elif after < len(own) and own[after] not in w.BOUNDARIES:
            named = named_by(own, after)
        else:  # the object before the verb, as German and Dutch put it: "vom Newsletter abmelden"
            named = _object_before(own, k, end, verb_last=t in w.VERB_LAST or separated)
        if named is not Named.OTHER:
            return Reading.OPT_OUT
    return None


def _object_before(own: list[str], k: int, end: int, *, verb_last: bool) -> Named:
    """What a verb that ends its clause (or holds its particle at the end) is done to, named before it."""
    start = k + 1 if end > k else 0  # "melden Sie mich vom Newsletter ab": between verb and particle
    stop = end if end > k else k
    for j in range(start, stop):
        if own[j] in w.FROMS:
            return named_by(own[:stop], j + 1)
    if not verb_last:
        return Named.NONE
    j = stop - 1
    while j >= start and own[j] in w.VERB_LAST_FILLER:
        j -= 1
    if j < start or own[j] in w.PERSONS or own[j] in w.LEADS_LAST:
        return Named.NONE  # "mich abmelden", "ich mochte abmelden"
    return noun(own[j])  # "mein Auto abmelden": the car, not our mail


def _stop(clause: list[str]) -> Reading | None:
    """"Stop X" / "stop sending (me) X" at the start of a request: ours if X is, or is sent; bare if no X."""
    at = _request_at(clause)
    if at >= len(clause):
        return None
    verb = clause[at]
    k = at + 1
    if verb in w.SEPARABLE and w.SEPARABLE[verb][1] == "stop" and w.SEPARABLE[verb][0] in clause[k:k + 4]:
        k = clause.index(w.SEPARABLE[verb][0], k) + 1  # "horen Sie bitte auf", "hou op (met)"
    elif verb in w.CANCELS:  # "cancel the reminders": ours; "cancel my order", or "cancel" alone: not
        return Reading.OPT_OUT if _done_to(clause, skip(clause, k, w.PERSONS), bare=Reading.OTHER) is \
            Reading.OPT_OUT else None
    elif verb not in w.STOPS:
        return None
    if k + 1 < len(clause) and clause[k] in {"it", "ermee"} and clause[k + 1] in w.PARTICLES:
        k += 1  # "stop it with the emails"
    has_particle = k < len(clause) and clause[k] in w.PARTICLES
    if verb in w.STOP_NEEDS_PARTICLE and not has_particle:
        return None  # "dejen el paquete": leave, not stop
    k = skip(clause, k + int(has_particle), w.PERSONS | {"te", "zu", "to"})
    if not has_particle and k < len(clause) and clause[k] in w.PARTICLES:
        has_particle, k = True, k + 1  # "stoppen jullie met de service": the particle after the subject
    if k < len(clause) and clause[k] in w.STOP_ELSEWHERE and not has_particle:
        return Reading.OTHER  # "stop by tomorrow", "stop at 6pm"
    if k + 1 < len(clause) and clause[k] in w.DETERMINERS and (sending(clause[k + 1]) or clause[k + 1] in w.RECEIVES):
        k += 1  # "stop met het sturen van e-mails"
    if k < len(clause) and clause[k] == ",":  # "horen Sie auf, mir E-Mails zu schicken"
        return _zu_clause(clause[k + 1:])
    if k < len(clause) and _doing(clause[k], has_particle and clause[k - 1] in w.BEFORE_INFINITIVE):
        return Reading.OTHER  # "stop ignoring my emails", "arretez de perdre mes mails": something else
    return _done_to(clause, k, bare=Reading.BARE)


def _doing(t: str, after_infinitive_particle: bool) -> bool:
    """Whether `t`, after "stop", is another verb than sending: an English gerund, or the infinitive that
    "arretez de", "dejen de", "smettete di" take (a noun there has its determiner: "chega de e-mails")."""
    if sending(t) or t in w.RECEIVES or noun(t) is not Named.OTHER:
        return False
    if t.endswith("ing") and len(t) > 4:
        return True
    return after_infinitive_particle and t not in w.DETERMINERS | w.PERSONS | w.QUANTITY


def _zu_clause(rest: list[str]) -> Reading:
    """German: "..., mir (X) zu schicken" / Dutch "..., mij (X) te mailen": X before the verb."""
    for k, t in enumerate(rest):
        if t in {"zu", "te"} and k + 1 < len(rest):
            if not sending(rest[k + 1]):
                return Reading.OTHER  # "..., meine E-Mails zu ignorieren": not our sending
            named = named_by(rest[:k], skip(rest, 0, w.PERSONS))
            return Reading.OTHER if named is Named.OTHER else Reading.OPT_OUT
    return Reading.BARE


def _done_to(clause: list[str], k: int, *, bare: Reading) -> Reading:
    """What a request to stop (or not to do) something reads as, given what follows it from `k`."""
    found = as_verb(clause[k], w.SENDS) if k < len(clause) else None
    if found or (k < len(clause) and clause[k] in w.RECEIVES):
        after = skip(clause, k + 1, w.PERSONS | {"to"})
        person = bool(found and found[1]) or after > k + 1
        if found and found[0] in w.SENDS_NEED_PERSON and not person:
            return Reading.OTHER  # "stop bothering": only "stop bothering me" is about us
        to = skip(clause, after, w.QUANTITY)
        if to + 1 < len(clause) and clause[to] in w.RECIPIENT_MARKS and clause[to + 1] not in w.PERSONS | w.MINE \
                and noun(clause[to + 1]) is not Named.MAIL:
            return Reading.OTHER  # "no manden más al técnico": sent to someone else
        if after < len(clause) and clause[after] in {"of", "van"}:  # "het sturen van e-mails"
            after += 1
        return Reading.OTHER if named_by(clause, after) is Named.OTHER else Reading.OPT_OUT
    named = named_by(clause, k)
    if named in OURS:
        return Reading.OPT_OUT
    if named in (Named.NONE, Named.DEMONSTRATIVE, Named.EVERYTHING):
        return bare
    return Reading.OTHER


def _remove(own: list[str]) -> Reading | None:
    """"Remove me from the mailing list", "take me off your list", "remove my email address"."""
    at = _request_at(own)
    if at >= len(own):
        return None
    clitic = own[at] in w.CLITICS and at + 1 < len(own) and as_verb(own[at + 1], w.REMOVES) is not None
    at += clitic  # "merci de me retirer de la liste"
    particle = w.SEPARABLE.get(own[at])
    found = as_verb(own[at], w.REMOVES)
    if not found and not (particle and particle[1] == "remove"):
        return None
    if all(t in w.FILLER or t in w.BOUNDARIES for t in own[at + 1:]):
        return Reading.BARE  # "REMOVE", "remove please"
    k = skip(own, at + 1, {"sie", "u", "jullie"})
    whom = named_by(own, k)
    if whom is Named.ADDRESS:  # "remove my email address (from ...)"
        k = span(own, k)[1]
    elif clitic or (found and found[1]) or (k < len(own) and own[k] in w.PERSONS):
        k = skip(own, k, w.PERSONS)
    else:
        return None  # "remove the charge from my card": not the writer
    k = skip(own, k, w.PERSONS | {"bitte", "please"})
    if k < len(own) and own[k] in w.FROMS and whom is not Named.ADDRESS:  # the writer's address, from anywhere
        named = named_by(own, k + 1)
        # "sáquenme de esto", "take me off all this": what the writer is on, unnamed, is our mail
        return Reading.OPT_OUT if named in (*OURS, Named.EVERYTHING, Named.DEMONSTRATIVE) else Reading.OTHER
    if whom is Named.ADDRESS:
        return Reading.OPT_OUT
    # "remove me (please)": bare; "take me to the site", "drop me a line": not about us
    return Reading.BARE if all(t in w.FILLER or t in w.BOUNDARIES for t in own[k:]) else Reading.OTHER


def _negative(own: list[str]) -> Reading | None:
    """"Don't send me X", "Schicken Sie mir keine X mehr", "I no longer wish to receive X", "no more X"."""
    at = _request_at(own)
    if at >= len(own):
        return None
    first = own[at]
    if first in w.NEGATIONS:  # "don't send me", "ne m'envoyez plus", "no me envien mas", "nicht mehr anschreiben"
        # "no me sigan enviando", "don't keep emailing me", "pas besoin de m'envoyer"
        k = skip(own, at + 1, w.PERSONS | w.CLITICS | w.QUANTITY | w.NO_MORE | w.CONTINUES | w.INFINITIVE_MARKS)
        if k < len(own) and sending(own[k]):
            return _done_to(own, k, bare=Reading.OPT_OUT)
    sent = sending(first)
    if sent and sent not in w.SENDS_NEED_PERSON:  # "Schicken Sie mir keine E-Mails mehr"
        k = skip(own, at + 1, w.PERSONS | w.POLITE)
        if k < len(own) and own[k] in w.NO_MORE | {"no", "nothing", "nichts", "niets"}:
            named = named_by(own, k + 1) if own[k] not in w.EVERYTHING else Named.EVERYTHING
            return Reading.OTHER if named is Named.OTHER else Reading.OPT_OUT
    desire = next((k for k, t in enumerate(own) if t in w.DESIRES), None)
    if desire is not None and desire and own[desire - 1] in w.THING_CLITICS:
        return None  # "ya no lo quiero": the thing is not wanted, not our mail
    if desire is not None:
        negated = any(t in w.NEGATIONS for t in own[max(0, desire - 3):desire])
        k = skip(own, desire + 1, w.PERSONS | w.QUANTITY | {"to", "zu", "te", "de", "d'", "di", "a", "be"})
        if k < len(own) and own[k] in {"not", "no", "nicht", "niet", "pas", "nao", "non"}:  # "I'd rather not get these"
            negated, k = True, skip(own, k + 1, w.PERSONS | w.QUANTITY | {"to", "zu", "te", "be"})
        if k < len(own) and own[k] in w.NO_MORE:
            negated, k = True, skip(own, k + 1, w.QUANTITY | {"of", "de", "d'"})
        if negated and k < len(own) and own[k] in w.STOPS:
            return None  # "je ne souhaite pas arrêter (l'abonnement)": a wish not to stop
        if negated:
            return _done_to(own, k, bare=Reading.BARE)
    if unwanted_mail(own):
        return Reading.OPT_OUT
    if first in w.NO_MORE and not any(t in w.RECEIVES for t in own):  # "I get no more emails" tells, not asks
        k = skip(own, at + 1, w.PARTICLES | w.QUANTITY | {"of"})
        named = named_by(own, k)
        told = [t for t in own[span(own, k)[1]:] if t not in w.FILLER and t not in w.BOUNDARIES
                and t not in w.PERSONS and t not in w.DEMONSTRATIVES and t not in w.EVERYTHING]
        if told:
            return None  # "plus de messages depuis lundi": no news since, a complaint
        return Reading.OPT_OUT if named in OURS else Reading.OTHER if named is Named.OTHER else Reading.BARE
    return None


def _not_wanted(rest: list[str]) -> Reading:
    """The subjunctive a negated wish governs: our sending ("que me sigan enviando correos") or something else."""
    k = skip(rest, 0, w.PERSONS | w.CLITICS | w.CONTINUES | w.QUANTITY | w.NEGATIONS)
    if k < len(rest) and (sending(rest[k]) or rest[k] in w.RECEIVES):
        return _done_to(rest, k, bare=Reading.OPT_OUT)
    return Reading.OTHER
