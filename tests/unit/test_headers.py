"""Header values as people's mail programs write them: raw UTF-8 (RFC 6532), Latin-1, encoded words."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from service.errors import SendError
from service.mailformat import compose as composer
from service.mailformat.parse import decode_words, parse_message

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def mail(from_: bytes, subject: bytes) -> bytes:
    return (b"From: " + from_ + b"\r\nTo: care@example.test\r\nSubject: " + subject
            + b"\r\nMessage-ID: <h1@client.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n")


# (From, Subject, name, address, subject) as SMTPUTF8 mail programs send them: raw UTF-8, no encoded words
UTF8 = [
    ("Renée Müller <juergen@bücher.example>", "Überweisung fehlt – schon wieder",
     "Renée Müller", "juergen@bücher.example", "Überweisung fehlt – schon wieder"),
    ("\"Müller, Jürgen\" <JM@Client.Example>", "Rechnung: 3× zu viel abgebucht",
     "Müller, Jürgen", "jm@client.example", "Rechnung: 3× zu viel abgebucht"),
    ("Анна Иванова <anna@почта.рф>", "Счёт снова неверный", "Анна Иванова", "anna@почта.рф", "Счёт снова неверный"),
    ("山田 太郎 <taro@例え.jp>", "請求書が間違っています", "山田 太郎", "taro@例え.jp", "請求書が間違っています"),
    ("José Núñez <josé@correo.example>", "Factura duplicada, ¿por qué?",
     "José Núñez", "josé@correo.example", "Factura duplicada, ¿por qué?"),
    ("Ζωή <zoi@client.example>", "Still waiting 😡 – Λογαριασμός", "Ζωή", "zoi@client.example",
     "Still waiting 😡 – Λογαριασμός"),
    ("zoë@client.example", "Ça ne marche pas", "", "zoë@client.example", "Ça ne marche pas"),
]


@pytest.mark.parametrize(("from_", "subject", "name", "addr", "expected"), UTF8, ids=[u[3] for u in UTF8])
def test_raw_utf8_in_headers_is_read_as_utf8(from_: str, subject: str, name: str, addr: str, expected: str) -> None:
    msg = parse_message(mail(from_.encode(), subject.encode()))
    assert (msg.from_name, msg.from_addr, msg.subject) == (name, addr, expected)
    assert msg.reply_address == addr and "?" not in msg.from_name + msg.from_addr


@pytest.mark.parametrize(("from_", "subject", "name", "expected"), [
    ("Zoë Dupré <zoe@client.example>".encode("latin-1"), "Très déçue".encode("latin-1"), "Zoë Dupré", "Très déçue"),
    # Windows-1252's own characters: en dash, euro sign, curly quotes
    ("Jörg <j@client.example>".encode("cp1252"), "Rechnung – 40 € zu viel, „schon wieder“".encode("cp1252"),
     "Jörg", "Rechnung – 40 € zu viel, „schon wieder“"),
    # one header, two mail programs: a UTF-8 name and a Latin-1 one
    ("Müller".encode() + b" / " + "Dupré".encode("latin-1") + b" <m@client.example>", b"ok",
     "Müller / Dupré", "ok"),
])
def test_8bit_bytes_that_are_not_utf8_are_read_as_windows_1252(from_: bytes, subject: bytes, name: str,
                                                              expected: str) -> None:
    msg = parse_message(mail(from_, subject))
    assert (msg.from_name, msg.subject) == (name, expected)


def test_the_corpus_messages_with_8bit_headers_read_as_their_writers_wrote_them() -> None:
    utf8 = parse_message((CORPUS / "8bit-in-headers.eml").read_bytes())
    assert (utf8.from_name, utf8.subject) == ("Jürgen Müller", "Rechnung falsch – schon wieder")
    latin1 = parse_message((CORPUS / "latin1-in-headers.eml").read_bytes())
    assert (latin1.from_name, latin1.subject, latin1.from_addr) == ("Zoë", "déçue", "zoe@client.example")


def test_encoded_words_next_to_raw_utf8_are_decoded() -> None:
    msg = parse_message(mail("Renée =?utf-8?q?M=C3=BCller?= <r@client.example>".encode(),
                             "Überweisung =?iso-8859-1?q?f=FCr?= März".encode()))
    assert (msg.from_name, msg.subject) == ("Renée Müller", "Überweisung für März")


# RFC 2047, section 8, and the forms seen in the wild around it
@pytest.mark.parametrize(("value", "expected"), [
    ("=?ISO-8859-1?Q?a?=", "a"),
    ("=?ISO-8859-1?Q?a?= b", "a b"),
    ("=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"),
    ("=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=", "ab"),
    ("=?ISO-8859-1?Q?a?=     =?ISO-8859-1?Q?b?=", "ab"),
    ("=?ISO-8859-1?Q?a_b?=", "a b"),
    ("=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=", "a b"),
    ("=?utf-8?B?w7xiZXI=?=", "über"),
    ("=?utf-8?b?w7xiZXI?=", "über"),  # padding left off
    ("=?utf-8*de?q?=C3=BC?=", "ü"),  # RFC 2231 language
    ("=?x-unknown?q?caf=C3=A9?=", "café"),  # unknown charset: UTF-8 if it is
    ("=?utf-8?B?!!!?=", "=?utf-8?B?!!!?="),  # broken: kept as it came
    ("Re: =?utf-8?q?unterminated", "Re: =?utf-8?q?unterminated"),
    ("plain text", "plain text"),
])
def test_decode_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected


def test_an_internationalised_domain_gets_its_ascii_form_on_the_wire() -> None:
    made = composer.compose(from_addr="care@example.test", from_name="Care", to_addr="juergen@Bücher.example",
                   to_name="Renée Müller", subject="Re: Überweisung", text="Danke", html=None,
                   now=datetime(2026, 12, 1, tzinfo=UTC), message_id="<a@example.test>")
    sent = message_from_bytes(made.raw, policy=policy.default)
    assert sent["To"].addresses[0].addr_spec == "juergen@xn--bcher-kva.example"
    assert sent["To"].addresses[0].display_name == "Renée Müller"
    assert made.to_addr == "juergen@bücher.example"  # the caps count the address as the client wrote it
    assert composer.wire_address("anna@почта.рф") == "anna@xn--80a1acny.xn--p1ai"


def test_a_non_ascii_local_part_cannot_be_sent_without_smtputf8_and_says_so() -> None:
    with pytest.raises(SendError) as refused:
        composer.compose(from_addr="care@example.test", from_name="Care", to_addr="josé@correo.example",
                         to_name="José", subject="Re: Factura", text="Gracias", html=None,
                         now=datetime(2026, 12, 1, tzinfo=UTC), message_id="<b@example.test>")
    assert refused.value.permanent and "SMTPUTF8" in str(refused.value)


def test_a_lists_rewritten_mail_names_its_author_in_raw_utf8() -> None:
    # Mailman rewrites From to the list and names the author in Cc; an SMTPUTF8 author's Cc is raw UTF-8
    data = ("From: Renée Müller via Care <care@lists.client.example>\r\nTo: care@example.test\r\n"
            "Cc: Renée Müller <renée@bücher.example>\r\nList-Id: <care.lists.client.example>\r\n"
            "Precedence: list\r\nSubject: Überweisung fehlt\r\nMessage-ID: <l1@x>\r\n\r\nHallo\r\n").encode()
    msg = parse_message(data)
    assert (msg.from_name, msg.from_addr) == ("Renée Müller", "renée@bücher.example")
