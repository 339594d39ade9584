"""Whether a message is a reply, and its subject without the prefixes mail programs add when replying.

A reply's subject repeats the subject of the message it answers (behind a prefix in the
writer's language: `Re:`, `AW:`, `SV:`, `Antw:`, `Odp:`, `回复:` ...), so it is not the
writer's own words: the detector and the opt-out reading take the reply's new text only.
"""

from __future__ import annotations

import re

from service.mailformat.parse import TOKEN_RE, Inbound

# the reply prefixes of mail programs in their many languages, with the counts some add ("Re[2]:",
# "RE (3) :"); a full-width colon in Chinese and Japanese ones. Forwarding prefixes (Fwd, WG, TR, RV,
# Doorst, ENC, I) are not here: a forward's subject is the forwarder's choice to pass on.
_PREFIXES = (
    "re", "aw", "antw", "antwort", "sv", "svar", "vs", "odp", "ynt", "yan[ıi]t", "atb", "va", "vá", "ref", "réf",
    "rif", "r", "res", "resp", "odg", "odgovor", "απ", "σχετ", "отв", "ответ", "回复", "答复", "回覆", "返信", "답장",
    "השב", "رد",
)
REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:(?:" + "|".join(_PREFIXES) + r")\s?(?:\[\d{1,4}\]|\(\d{1,4}\))?\s?[:：]\s*)+", re.IGNORECASE)


def strip_reply_prefixes(subject: str) -> str:
    """The subject without the reply prefixes at its start ("Re: AW: Late" -> "Late")."""
    return REPLY_PREFIX_RE.sub("", subject, count=1)


def reply_words(new_text: str, subject: str) -> str:
    """What a reply says: its new words, or, where it has none (a phone's footer alone), the subject its writer
    typed, prefixes and concern token left out ("Re: ¿Se ha solucionado? -> Sí, todo resuelto, pueden cerrar")."""
    if _LETTER_RE.search(new_text):
        return new_text
    return TOKEN_RE.sub("", strip_reply_prefixes(subject[:300])).strip()


_LETTER_RE = re.compile(r"[^\W\d_]")


def has_reply_prefix(subject: str) -> bool:
    """Whether the subject starts with a reply prefix, in any language a mail program writes one."""
    return REPLY_PREFIX_RE.match(subject) is not None


def is_reply(msg: Inbound) -> bool:
    """Whether `msg` answers another: threading headers, a concern token or a reply prefix say so."""
    return bool(msg.in_reply_to or msg.references or msg.concern_token or has_reply_prefix(msg.subject))
