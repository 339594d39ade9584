"""Header values as text: raw 8-bit bytes (RFC 6532) and RFC 2047 encoded words, decoded in linear time.

The parser hands header values over as ASCII with every 8-bit byte as a
surrogate escape. Mail programs that speak SMTPUTF8 (and many that should
not) write UTF-8 there; older ones write Latin-1 or Windows-1252. Each run of
8-bit bytes is read as UTF-8 when it is valid UTF-8 and as Windows-1252
otherwise, so one header mixing both still reads right.
"""

from __future__ import annotations

import base64
import binascii
import re

# a run of 8-bit bytes, as the parser's surrogate escapes (U+DC80-U+DCFF) or already as text
_EIGHT_BIT_RE = re.compile("[\udc80-\udcff]+")
# RFC 2047: =?charset?encoding?text?= with no white space or "?" inside; every quantifier stops at "?"
# or white space, so each character is read by at most one attempt (linear on any header)
_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")


def header_text(value: str) -> str:
    """The header value as text: 8-bit runs as UTF-8 when valid, else as Windows-1252 (then Latin-1)."""
    if value.isascii():
        return value
    return _EIGHT_BIT_RE.sub(_eight_bit_run, value)


def _eight_bit_run(match: re.Match[str]) -> str:
    raw = match.group().encode("ascii", "surrogateescape")
    return text_of(raw, "utf-8")


def text_of(raw: bytes, charset: str) -> str:
    """`raw` in `charset`, else UTF-8, else Windows-1252; Latin-1 for the five bytes Windows-1252 leaves out."""
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1")


def decode_words(value: str) -> str:
    """Decode the RFC 2047 encoded words in a header value; text around them (raw UTF-8 too) is kept.

    White space between two adjacent encoded words is dropped (RFC 2047 6.2); a
    word that does not decode stays as it came.
    """
    if "=?" not in value:
        return value
    parts: list[str] = []
    pos = 0
    after_word = False
    for match in _ENCODED_WORD_RE.finditer(value):
        between = value[pos:match.start()]
        decoded = _decode_word(*match.groups())
        if decoded is None:
            parts += [between, match.group()]
        elif after_word and not between.strip():
            parts.append(decoded)
        else:
            parts += [between, decoded]
        after_word = decoded is not None
        pos = match.end()
    parts.append(value[pos:])
    return "".join(parts)


def _decode_word(charset: str, encoding: str, text: str) -> str | None:
    if not text.isascii():
        return None
    try:
        if encoding in "bB":
            raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        else:
            raw = binascii.a2b_qp(text, header=True)
    except (binascii.Error, ValueError):
        return None
    return text_of(raw, charset.partition("*")[0])  # RFC 2231 appends a language: utf-8*en
