"""Linear time on any input, shown by structure, not by the clock: what each step may be handed, and patterns
that cannot backtrack. The CPU figures are bench/hostile.py's (bench/RESULTS.md)."""

from __future__ import annotations

import email.parser
import re
from collections.abc import Iterator
from typing import Any

import inscriptis
import mailparser_reply.parser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.detector import model
from service.mailformat import parse

try:  # re's own parser, to read a pattern's structure (Python 3.11 renamed sre_parse)
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

LINE_MAX = 256  # the longest line the reply parser may be handed (service/mailformat/readers.py)
MIME_DEPTH_MAX = 32
HEAD = "From: Ana <ana@client.example>\r\nTo: care@example.test\r\nSubject: Invoice\r\nMessage-ID: <h@x>\r\n"


def mail(body: str, ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (HEAD + f"Content-Type: {ctype}\r\n\r\n" + body).encode()


def _repeats(parsed: Any) -> Iterator[tuple[Any, Any]]:
    for op, arg in parsed:
        if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
            yield op, arg
            yield from _repeats(arg[2])
        elif op in (sre_parse.SUBPATTERN, sre_parse.ATOMIC_GROUP):
            yield from _repeats(arg[-1])
        elif op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
            yield from _repeats(arg[1])
        elif op == sre_parse.BRANCH:
            for branch in arg[1]:
                yield from _repeats(branch)


def test_the_detectors_address_pattern_cannot_backtrack() -> None:
    # r"\S+@\S+\.\w+" took 54 s on a 99 KB token: every greedy repeat could give back what the next took.
    # Its replacement starts only at a token's start and repeats only possessively: nothing is ever read twice
    parsed = sre_parse.parse(model._EMAIL_RE.pattern)
    first_op, first_arg = parsed[0]
    assert first_op == sre_parse.ASSERT_NOT and first_arg[0] == -1  # a lookbehind: (?<!\S)
    greedy = [(op, arg) for op, arg in _repeats(parsed) if op != sre_parse.POSSESSIVE_REPEAT and arg[1] > 1]
    assert greedy == [], "a backtracking repeat in the address pattern"


OLD_ADDRESS_RE = re.compile(r"\S+@\S+\.\w+")  # what the shipped model was trained with


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(alphabet="ab@._ -\n\té1", max_size=40))
def test_the_address_pattern_masks_what_the_old_one_did(text: str) -> None:
    assert model._EMAIL_RE.sub(" emailaddr ", text) == OLD_ADDRESS_RE.sub(" emailaddr ", text)


class Handed(Exception):
    """Raised by a recording stand-in once it has seen what it was handed."""


HOSTILE_TEXT = {
    "long 'On' line": "On " + "Monday " * 15_000,
    "single long token": "x" * 100_000,
    "blank lines": "\n" * 50_000 + "Nobody called back.",
    "spaces": "Hi" + " " * 50_000 + "nobody called back.",
    "disclaimer flood": ".Warning: " * 10_000,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXT))
def test_the_reply_parser_is_never_handed_a_long_line_or_runs_of_blank_lines_or_spaces(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def record(self: mailparser_reply.parser.EmailMessage) -> object:
        seen.append(self.text)
        raise Handed

    monkeypatch.setattr(mailparser_reply.parser.EmailMessage, "read", record)
    parse.strip_quotes(HOSTILE_TEXT[name])  # falls back to its simple rule when the parser fails
    assert seen
    lines = seen[0].split("\n")
    assert max(len(line) for line in lines) <= LINE_MAX + 2  # a piece of a long line and its two marks
    assert "\n\n\n" not in seen[0] and "                 " not in seen[0]


def test_long_lines_come_back_whole_from_the_reply_parser() -> None:
    paragraph = " ".join(f"The boiler broke on day {n} and nobody came." for n in range(80))
    new = parse.strip_quotes(f"{paragraph}\n\nKind regards,\nAna\n\nOn Mon, 3 Nov 2026, Care <c@x.example> wrote:\n"
                             "> This is unacceptable\n")
    assert new == paragraph
    spaced = parse.strip_quotes("We paid twice." + "\n" * 500 + "Still no refund." + " " * 300 + "Please call.")
    assert spaced.split() == ["We", "paid", "twice.", "Still", "no", "refund.", "Please", "call."]


@pytest.mark.parametrize("html", ["<b>x</b>" * 20_000, "<p>" + "<i>a</i> " * 30_000 + "I am worried.</p>"])
def test_inscriptis_is_handed_a_bounded_number_of_tags(html: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def record(content: str) -> None:
        seen.append(content)
        return None

    monkeypatch.setattr(inscriptis, "_get_html_tree", record)
    parse.parse_message(mail(html, "text/html; charset=utf-8"))
    assert seen and seen[0].count("<") <= 4000


def test_the_mime_parser_is_never_handed_more_than_32_nested_multiparts(monkeypatch: pytest.MonkeyPatch) -> None:
    levels = 3000
    head = "".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels))
    data = (HEAD + head + "Content-Type: text/plain\r\n\r\nhi\r\n").encode()
    seen: list[bytes] = []

    def record(self: object, text: bytes, headersonly: bool = False) -> object:
        seen.append(text)
        raise Handed

    monkeypatch.setattr(email.parser.BytesParser, "parsebytes", record)
    with pytest.raises(Handed):
        parse.parse_message(data)
    assert seen[0].count(b"boundary=") <= MIME_DEPTH_MAX


def test_a_huge_address_header_is_read_up_to_a_bound_in_whole_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = parse.getaddresses

    def record(values: list[str]) -> list[tuple[str, str]]:
        seen.append(sum(len(v) for v in values))
        return real(values)

    monkeypatch.setattr(parse, "getaddresses", record)
    msg = parse.parse_message((HEAD.replace("To: care@example.test", "To: care@example.test, " + "a@b.example, "
                                            * 90_000) + "\r\nbody\r\n").encode())
    assert max(seen) <= 65_536
    assert msg.to[0] == "care@example.test" and all(a == "a@b.example" for a in msg.to[1:])


@pytest.mark.parametrize("header", ["From", "Cc"])
def test_a_thousand_address_groups_never_raise(header: str) -> None:
    # the stdlib's address parser nests a call per ":" group: a hostile header made it raise RecursionError,
    # and the message was quarantined (in a list's rewritten mail, Cc is read for the author: Mailman)
    groups = ".Warning: " * 3000
    sender = groups if header == "From" else "'Ana Lopez' via Care <care@lists.example>"
    data = (f"From: {sender}\r\nList-Id: <care.lists.example>\r\nPrecedence: list\r\nTo: care@example.test\r\n"
            f"Subject: x\r\nCc: {groups if header == 'Cc' else 'ana@client.example'}\r\n\r\nbody\r\n")
    msg = parse.parse_message(data.encode())
    assert msg.message_id
    from service.core.authenticity import author

    assert author((":" * 1999,)).address == ""


def test_a_quote_heads_runs_of_spaces_cannot_backtrack() -> None:
    # "^[ \t]*\*{0,2}[ \t]*From:" gave a line of spaces back and forth: 46 s of CPU for 8,000 spaces
    from service.mailformat import quotes

    parsed = sre_parse.parse(quotes._LABEL_RE.pattern, re.IGNORECASE)
    assert parsed[0][0] == sre_parse.AT and parsed[1][0] == sre_parse.POSSESSIVE_REPEAT
    assert parsed[3][0] == sre_parse.POSSESSIVE_REPEAT  # after the optional stars
    text = quotes.own_text(" " * 50_000 + "x\nC-1 resolved\n" + "\t" * 50_000 + "From: y\n")
    assert "C-1 resolved" in text
