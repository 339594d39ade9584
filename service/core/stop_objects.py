"""What a request to stop names: the noun phrase after its verb, read as our mail, a list of it, the
writer's address, or something else. Pure; used by `service.core.stop_request`."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from service.core import stop_words as w


class Named(Enum):
    """What a noun phrase names, as far as stopping our mail goes."""

    NONE = "none"  # nothing named
    MAIL = "mail"
    LIST = "list"
    ADDRESS = "address"  # "my email address"
    DEMONSTRATIVE = "demonstrative"  # "these", "it": what is meant is not said
    EVERYTHING = "everything"
    OTHER = "other"


OURS = (Named.MAIL, Named.LIST, Named.ADDRESS)
_ONLY_BOUNDARIES = (w.BOUNDARIES | w.STOPS) - w.DETERMINERS  # "stop stop stop" names nothing
_LEADING = w.DETERMINERS | w.QUANTITY | w.PERSONS | w.NO_MORE


def skip(tokens: Sequence[str], k: int, words: frozenset[str] | set[str]) -> int:
    """The first place from `k` whose token is not one of `words`."""
    while k < len(tokens) and tokens[k] in words:
        k += 1
    return k


def span(tokens: Sequence[str], k: int) -> tuple[list[str], int]:
    """The words of the noun phrase from `k` (its determiners left out), and where it ends."""
    k = skip(tokens, k, _LEADING)
    words: list[str] = []
    while k < len(tokens):
        t = tokens[k]
        if t in _ONLY_BOUNDARIES or (words and t in w.DETERMINERS):
            break
        words.append(t)
        k += 1
    return words, k


def noun(t: str) -> Named:
    """What one word names."""
    if t in w.MAIL or (t.endswith(w.MAIL_ENDINGS) and len(t) > 5):
        return Named.MAIL
    if t in w.LISTS:
        return Named.LIST
    if t in w.DEMONSTRATIVES:
        return Named.DEMONSTRATIVE
    if t in w.EVERYTHING:
        return Named.EVERYTHING
    return Named.OTHER


def named_by(tokens: Sequence[str], k: int) -> Named:
    """What the noun phrase from `k` names: our mail, a list of it, the writer's address, or else."""
    first = skip(tokens, k, w.QUANTITY | w.PERSONS | w.NO_MORE | {"of"})
    if first < len(tokens) and tokens[first] in w.DEMONSTRATIVES and (
            first + 1 >= len(tokens) or tokens[first + 1] in w.BOUNDARIES):
        return Named.DEMONSTRATIVE  # "stop these", "stop it", "no more of these"
    words, end = span(tokens, k)
    if not words:
        return Named.NONE
    if any(t in w.MINE for t in tokens[k:end]) and any(t in w.ADDRESSES for t in words):
        return Named.ADDRESS
    romance = any(t in w.ROMANCE for t in tokens) and not any(t in w.ENGLISH for t in tokens)
    head = words[0] if romance and noun(words[0]) is not Named.OTHER else words[-1]
    kind = noun(head)
    if kind is Named.LIST and head in w.LIST_ONLY_BARE:
        # "the mailing list", "your list", "la lista (de correo)"; not "the waiting list", "liste d'attente"
        before = words[:-1] if head == words[-1] else []
        after = tokens[end + 1] if end + 1 < len(tokens) and tokens[end] in {"de", "d'", "di"} else None
        if any(t not in w.LIST_OF_MAIL for t in before) or (after is not None and after not in w.LIST_OF_MAIL
                                                            and noun(after) is not Named.MAIL):
            return Named.OTHER
    if head in w.SENDINGS and end < len(tokens) and tokens[end] in w.OF:
        sent, _ = span(tokens, end + 1)  # "l'envoi du catalogue papier": what is sent is named
        if sent and not any(noun(t) is Named.MAIL or t in w.FOLLOW_UPS for t in sent):
            return Named.OTHER
    return kind


def unsubscribe_word(t: str) -> bool:
    """Whether `t` can only mean leaving a list ("unsubscribe", "abmelden", "退订"), or is one letter from it."""
    return t in w.UNSUBSCRIBES or any(m in t for m in w.UNSUBSCRIBE_MARKS) or _misspelt_unsubscribe(t)


def _deletions(t: str) -> set[str]:
    return {t[:k] + t[k + 1:] for k in range(len(t))}


# each long word of leaving a list, and each of it with one letter out: a word one slip away from one
# of them ("unsubcribe", "desuscribirse" typed "desuscribirce") shares a key with it
_NEAR_UNSUBSCRIBE = frozenset(k for u in w.UNSUBSCRIBES if len(u) >= 9 for k in {u} | _deletions(u))


def _misspelt_unsubscribe(t: str) -> bool:
    return len(t) >= 9 and not t.isdigit() and bool(({t} | _deletions(t)) & _NEAR_UNSUBSCRIBE)


def as_verb(t: str, verbs: frozenset[str]) -> tuple[str, bool] | None:
    """`t` as one of `verbs`, and whether it carries its object pronoun ("enviarme", "quitenme", "scrivetemi")."""
    if t in verbs:
        return t, False
    for suffix in ("me", "mi", "nos", "ci"):
        stem = t[:-len(suffix)]
        if t.endswith(suffix) and len(stem) > 3:
            for candidate in (stem, stem + "e"):
                if candidate in verbs:
                    return candidate, True
    return None


def sending(t: str) -> str | None:
    """The sending verb `t` is, if it is one."""
    found = as_verb(t, w.SENDS)
    return found[0] if found else None
