"""Reading a UID FETCH response: the message's bytes and its INTERNALDATE, wherever the server puts them."""

from __future__ import annotations

from datetime import UTC, datetime

from service.adapters.imap import parse_fetch

BODY = b"From: a@b.example\r\nSubject: UID 99 INTERNALDATE \"01-Jan-2000 00:00:00 +0000\"\r\n\r\nhi\r\n"
WHEN = datetime(2026, 12, 2, 20, 30, 5, tzinfo=UTC)


def test_uid_and_internaldate_before_the_literal() -> None:
    lines = [b'1 FETCH (UID 7 INTERNALDATE "02-Dec-2026 21:30:05 +0100" BODY[] {%d}' % len(BODY), BODY, b")",
             b"Fetch completed"]
    assert parse_fetch(lines) == {7: (BODY, WHEN)}


def test_uid_and_internaldate_after_the_literal() -> None:
    lines = [b"1 FETCH (BODY[] {%d}" % len(BODY), BODY, b' UID 7 INTERNALDATE "02-Dec-2026 20:30:05 +0000")']
    assert parse_fetch(lines) == {7: (BODY, WHEN)}


def test_uid_before_and_internaldate_after() -> None:
    lines = [b"1 FETCH (UID 7 BODY[] {%d}" % len(BODY), BODY, b' INTERNALDATE "02-Dec-2026 20:30:05 +0000")',
             b'2 FETCH (UID 8 BODY[] {2}', b"ok", b")"]
    assert parse_fetch(lines) == {7: (BODY, WHEN), 8: (b"ok", None)}


def test_an_odd_date_leaves_the_arrival_unknown_and_the_text_inside_a_message_is_never_read() -> None:
    lines = [b'1 FETCH (UID 7 INTERNALDATE "yesterday" BODY[] {%d}' % len(BODY), BODY, b")"]
    assert parse_fetch(lines) == {7: (BODY, None)}
