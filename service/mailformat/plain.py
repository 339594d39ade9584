"""Text made safe to show, store and put in a header: one line, real line ends, no undecodable bytes.

Apart from `parse` because the owners' digests and commands need these and nothing of reading mail.
"""

from __future__ import annotations

import re

_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# bidirectional controls: they make a name or subject read in another order than it is written
BIDI_RE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LINE_END_RE = re.compile(r"\r\n|\r|\n")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def one_line(value: str, limit: int = 998) -> str:
    """Collapse control characters and every kind of line break (CR/LF, U+2028, NEL, ...) into spaces and
    drop bidirectional controls, so a value can never become a header, nor two lines, nor read backwards."""
    return _CONTROL_RE.sub(" ", BIDI_RE.sub("", storable(value))).strip()[:limit]


def lines_of(text: str) -> list[str]:
    """The lines of `text`, split at real line ends (CR LF, LF, CR) only.

    `str.splitlines` also splits at U+2028, NEL, VT, FF and the file separators, which anyone can
    put inside a subject or a name: inside one line of mail they end nothing.
    """
    return LINE_END_RE.split(text)


def storable(value: str) -> str:
    """The text with undecodable bytes (surrogate escapes of raw 8-bit input) as U+FFFD, so it can be stored."""
    return value.encode("utf-8", "replace").decode("utf-8") if _SURROGATE_RE.search(value) else value
