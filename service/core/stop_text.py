"""A message's text as the opt-out reader takes it: folded words, cut into sentences and clauses. Pure.

Case and accents are folded ("Désabonnez-moi" -> "desabonnez" "moi"), elisions cut ("m'envoyer"
-> "m'" "envoyer"), words written apart that are one joined ("opt out" -> "optout"), web and mail
addresses left out (an "unsubscribe" in a link is no request), and hard-wrapped lines joined back
into their sentences, so that "Please stop sending me\ninvoices" is one sentence.
"""

from __future__ import annotations

import unicodedata

from service.core import stop_words as w

_READ_CHARS = 6000  # a request to stop is near the start; the rest of a long message is not read
SENTENCE_ENDS = frozenset(".!?;:\n¡¿")
_ENDING = ".!?;:"
CLAUSE_WORDS = 40  # no request needs more words for its verb and object: longer clauses are cut (linear time)
_ELIDED = frozenset({"qu", "dall", "dell", "nell", "all", "sull", "quest"})  # and any one letter but English "I"


def fold(text: str) -> str:
    """Lower case, accents removed, one kind of apostrophe: "Désabonnez-moi" -> "desabonnez-moi"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("’", "'").replace("`", "'").replace("´", "'").replace("a.u.b.", "aub").replace(
        "s.v.p.", "svp")


def _lines_joined(text: str) -> str:
    """Hard-wrapped lines joined back into their sentences; a line of its own ("Stop") stays one."""
    out: list[str] = []
    for line in text[:_READ_CHARS].splitlines():
        stripped = line.strip()
        if out and out[-1] and stripped and (stripped[0].islower() or
                                              (len(out[-1]) >= 60 and out[-1][-1] not in _ENDING)):
            out[-1] += " " + stripped
        else:
            out.append(stripped)
    return "\n".join(out)


def tokens(text: str) -> list[str]:
    """Words and sentence marks; web and mail addresses left out (an "unsubscribe" link is not a request)."""
    out: list[str] = []
    for chunk in fold(_lines_joined(text)).replace("\n", " \n ").split(" "):
        if "://" in chunk or chunk.startswith("www.") or "@" in chunk:
            continue
        word = ""
        for c in chunk:
            if c.isalnum() or (c in "'-" and word and not word.endswith(("'", "-"))):
                word += c
                continue
            number = word.isdigit()
            out.extend(_split_word(word))
            word = ""
            if (c in SENTENCE_ENDS and not (c == "." and number)) or c == ",":  # "am 21.11. abmelden": a date
                out.append(c)
        out.extend(_split_word(word))
    return _joined([t for t in out if t not in w.DROPPED])


def _split_word(word: str) -> list[str]:
    word = word.strip("'-")
    if not word:
        return []
    if "'" in word:  # French and Italian elision: "m'envoyer" -> "m'" "envoyer"; "don't" stays
        head, _, rest = word.partition("'")
        if rest and ((len(head) == 1 and head != "i") or head in _ELIDED):
            return [head + "'", *_split_word(rest)]
    if "-" in word:  # "desabonnez-moi" -> "desabonnez" "moi"; "e-mails" -> "emails"
        parts = word.split("-")
        if parts[-1] in w.PERSONS and len(parts) > 1:
            return ["".join(parts[:-1]), parts[-1]]
        return ["".join(parts)]
    return [word]


def _joined(tokens: list[str]) -> list[str]:
    """Words written apart that are one ("opt out", "mailing list", "no more"), the longest first."""
    out: list[str] = []
    k = 0
    while k < len(tokens):
        for size in (4, 3, 2):
            key = tuple(tokens[k:k + size])
            if len(key) == size and key in w.JOINED:
                out.extend(w.JOINED[key].split())
                k += size
                break
        else:
            out.append(tokens[k])
            k += 1
    return out


def clauses(tokens: list[str]) -> list[list[str]]:
    """Sentences cut at their commas and conjunctions (each keeps the words after it for its object)."""
    out: list[list[str]] = []
    sentence: list[str] = []
    for t in [*tokens, "."]:
        if t in SENTENCE_ENDS:
            starts = [0] + [k + 1 for k, s in enumerate(sentence) if s in w.CLAUSE_STARTS]
            out.extend(sentence[a:a + CLAUSE_WORDS] for a in starts if a < len(sentence))
            sentence = []
        else:
            sentence.append(t)
    return out
