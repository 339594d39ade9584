"""The libraries that read a message, each handed only what it reads in linear time.

mail-parser-reply finds reply headers and signatures with some fifty regular
expressions; several backtrack within a line or a run of white space
("On ... wrote:" with nested lazy repeats, `\\s*^` before a signature), so one
long line or a run of blank lines cost it time quadratic in their length
(26 s for 10 KB of blank lines, 2.7 s for one 10 KB line starting "On").
It is given the text with blank-line runs cut to one blank line, long runs of
spaces to one space, and every line longer than `LINE_MAX` broken into
pieces: each break is a noncharacter pair around a newline, which no pattern
of the parser can match across or start at, and which is taken out again
afterwards, so the words come back as they were.

inscriptis builds a Python object per HTML element (about 80 us each); it
reads the first `HTML_TAGS_MAX` tags of a body, and the rest is taken as
text with its tags removed.

The stdlib's MIME parser tests every line against the boundary of every
multipart it is inside, so nesting multiparts thousands deep costs it time
quadratic in the depth; it is given the message up to the multipart that
would open deeper than `MIME_DEPTH_MAX` (mail nests five or six deep).
Address headers are read up to `ADDRESS_HEADER_MAX` characters (some five
thousand addresses).
"""

from __future__ import annotations

import html as html_lib
import re

from inscriptis import get_text
from mailparser_reply.parser import EmailMessage

LINE_MAX = 256  # longer than any reply header line ("On <date>, <name> <address> wrote:")
HTML_TAGS_MAX = 4000
MIME_DEPTH_MAX = 32
ADDRESS_HEADER_MAX = 65_536
_REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "sv", "da", "cs")
# Unicode noncharacters (U+FDD0, U+FDD1): reserved for a program's own use, never in interchanged text
_END, _START = "\ufdd0", "\ufdd1"
_BREAK = f"{_END}\n{_START}"
_MARKS_RE = re.compile(f"[{_END}{_START}]")
# three or more line ends with nothing but white space between: one blank line is all a reader needs;
# each attempt starts at a line end and stops at the first character that is not white space
_BLANK_RUN_RE = re.compile(r"\n(?:[^\S\n]*\n){2,}")
# a run of more than 16 spaces inside a line; a run shorter than that is read at most 16 times
_SPACE_RUN_RE = re.compile(r"[^\S\n]{17,}")
_TAG_RE = re.compile(r"<[^<>]*>")  # each attempt stops at the next "<" or ">": linear on any input
# a multipart's boundary parameter; every repeat is bounded or stops at the first character it cannot take
_BOUNDARY_RE = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)


def for_reply_parser(text: str) -> str:
    """The text in the shape the reply parser reads in linear time; `from_reply_parser` undoes the breaks."""
    text = _MARKS_RE.sub("", text.replace("\r\n", "\n"))
    text = _SPACE_RUN_RE.sub(" ", _BLANK_RUN_RE.sub("\n\n", text))
    if len(text) <= LINE_MAX or all(len(line) <= LINE_MAX for line in text.split("\n")):
        return text
    return "\n".join(line if len(line) <= LINE_MAX
                     else _BREAK.join(line[i:i + LINE_MAX] for i in range(0, len(line), LINE_MAX))
                     for line in text.split("\n"))


def from_reply_parser(text: str) -> str:
    """Long lines whole again, and any mark the parser left alone removed."""
    return _MARKS_RE.sub("", text.replace(_BREAK, ""))


def first_reply(text: str) -> str:
    """The newest reply in `text`, its quoted history, reply header and signature removed ("" if none)."""
    # a line starting "- " is a list item far more often than a signature ("- Anna"): the parser's default
    # cut there drops every word after a client's first bullet, and with them the concern
    # a list of its own: the message keeps the one it is given and may add "en" to it
    parsed = EmailMessage(text=for_reply_parser(text), languages=list(_REPLY_LANGUAGES),
                          keep_hyphen_lists=True).read()
    if not parsed.replies:
        return ""
    reply = parsed.replies[0]
    if _prose(str(reply.signatures or "")):
        # its signature patterns start at a line that opens "Thanks," or "Gracias," and take all below:
        # "Thanks, we'll see you Monday. Is it ok if I stay? He has an egg allergy ..." is the client's
        return from_reply_parser(str(reply.full_body or ""))
    return from_reply_parser(str(reply.body or ""))


# a sentence: four words or more, ended (or broken off) by its mark
_SENTENCE_RE = re.compile(r"(?:\S+\s+){3,}\S*[.?!](?:\s|$)")


def _prose(signature: str) -> bool:
    """Whether what the reply parser took for a signature holds a sentence (names, titles, addresses and
    phone numbers carry no sentence mark after four words)."""
    return any(_SENTENCE_RE.search(line) for line in signature.splitlines()[:40] if len(line) <= LINE_MAX)


def html_to_text(html: str) -> str:
    """The text of an HTML body: inscriptis's layout for its first `HTML_TAGS_MAX` tags, the rest untagged."""
    cut = _nth(html, "<", HTML_TAGS_MAX)
    head, tail = (html, "") if cut < 0 else (html[:cut], html[cut:])
    text = str(get_text(head))
    if tail:
        text += "\n" + html_lib.unescape(_TAG_RE.sub(" ", tail))
    return text


def strip_tags(html: str) -> str:
    """HTML with its tags removed: the fallback when inscriptis cannot read it."""
    return _TAG_RE.sub(" ", html)


def _nth(text: str, char: str, n: int) -> int:
    """Where the n-th `char` (counting from 1) is in `text`; -1 if there are fewer. Linear."""
    if text.count(char) < n:
        return -1
    pos = -1
    for _ in range(n):
        pos = text.find(char, pos + 1)
    return pos


def mime_within_depth(raw: bytes) -> bytes:
    """The message up to the multipart that would open deeper than `MIME_DEPTH_MAX`; all of it if none does.

    A multipart is open from its boundary's declaration to the line that closes it (`--boundary--`).
    Each closing line is looked for once, from its declaration on; at most `MIME_DEPTH_MAX` are open at
    any point read, so the search reads the message at most that many times over: linear.
    """
    declared = list(_BOUNDARY_RE.finditer(raw))
    if len(declared) <= MIME_DEPTH_MAX:
        return raw
    open_until: list[int] = []  # where each open multipart closes (len(raw) if never)
    for match in declared:
        start = match.start()
        open_until = [end for end in open_until if end > start]
        if len(open_until) >= MIME_DEPTH_MAX:
            return raw[:raw.rfind(b"\n", 0, start) + 1]
        boundary = match.group(1) or match.group(2)
        end = raw.find(b"--" + boundary + b"--", match.end())
        open_until.append(len(raw) if end < 0 else end)
    return raw


def address_header(value: str) -> str:
    """An address header up to the last comma within `ADDRESS_HEADER_MAX` characters: whole addresses only."""
    if len(value) <= ADDRESS_HEADER_MAX:
        return value
    return value[:max(value.rfind(",", 0, ADDRESS_HEADER_MAX), 0)]
