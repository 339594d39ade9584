"""Outgoing messages: threading headers, RFC 3834 marks, and no header injection."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.policy import Compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.errors import SendError
from service.mailformat.compose import _WIRE, compose, reply_subject, safe_address

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def build(**kw: object) -> bytes:
    args: dict[str, object] = dict(
        from_addr="care@example.test", from_name="Care", to_addr="ana@client.example",
        to_name="Ana", subject="Re: hi [#C-1]", text="hello", html="<p>hello</p>", now=NOW,
        message_id="<out1@example.test>", in_reply_to="<in1@client.example>",
        references=("<r0@client.example>",),
    )
    args.update(kw)
    return compose(**args).raw  # type: ignore[arg-type]


def test_threading_and_auto_headers() -> None:
    msg = message_from_bytes(build(), policy=policy.default)
    assert msg["In-Reply-To"] == "<in1@client.example>"
    assert msg["References"] == "<r0@client.example> <in1@client.example>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["Message-ID"] == "<out1@example.test>"
    assert msg.get_content_type() == "multipart/alternative"


@pytest.mark.parametrize("evil", [
    "Ana\r\nBcc: victim@evil.example",
    "Ana\nX-Injected: 1",
    "=?utf-8?q?Ana=0D=0ABcc:_victim@evil.example?=",
])
def test_names_and_subjects_cannot_add_headers(evil: str) -> None:
    data = build(to_name=evil, subject=f"Re: {evil}")
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert len(msg.get_all("To")) == 1
    assert [a.addr_spec for a in msg["To"].addresses] == ["ana@client.example"]


@pytest.mark.parametrize("addr", ["a@b.example, c@d.example", "a@b.example\r\nBcc: x@y", "<a@b>", "nobody"])
def test_recipient_must_be_one_plain_address(addr: str) -> None:
    with pytest.raises(SendError):
        safe_address(addr)


def test_bad_thread_ids_are_dropped() -> None:
    msg = message_from_bytes(build(in_reply_to="<x@y>\r\nBcc: z@z", references=("junk",)),
                             policy=policy.default)
    assert msg["In-Reply-To"] is None and msg["References"] is None and msg["Bcc"] is None


@pytest.mark.parametrize(("original", "expected"), [
    ("Invoice late", "Re: Invoice late [#C-7]"),
    ("RE: Fwd: AW: Invoice late", "Re: Invoice late [#C-7]"),
    ("Re: Invoice late [#C-7]", "Re: Invoice late [#C-7]"),
    ("", "Re: your message [#C-7]"),
])
def test_reply_subject(original: str, expected: str) -> None:
    assert reply_subject(original, "C-7") == expected


def test_operator_templates_render_in_the_sandbox(tmp_path: Path) -> None:
    from jinja2.exceptions import SecurityError

    from service.mailformat.render import environment, render

    (tmp_path / "evil.txt.j2").write_text("{{ greeting.__class__.__mro__[1].__subclasses__() }}")
    (tmp_path / "evil.html.j2").write_text("x")
    environment.cache_clear()
    with pytest.raises(SecurityError):
        render("evil", {"greeting": "hi"}, tmp_path)


def test_an_edited_template_is_used_once_the_reload_check_comes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from service.mailformat import render as rendering

    (tmp_path / "note.txt.j2").write_text("first {{ x }}")
    (tmp_path / "note.html.j2").write_text("<p>first</p>")
    assert rendering.render("note", {"x": 1}, tmp_path).text == "first 1"
    (tmp_path / "note.txt.j2").write_text("second {{ x }}")
    os.utime(tmp_path / "note.txt.j2", (time.time() + 5, time.time() + 5))  # a later mtime, whatever the clock
    assert rendering.render("note", {"x": 1}, tmp_path).text == "first 1"  # within the check interval
    monkeypatch.setattr(rendering, "RELOAD_CHECK_S", 0.0)
    assert rendering.render("note", {"x": 1}, tmp_path).text == "second 1"


def test_non_ascii_names_subject_and_body_come_back_unchanged() -> None:
    data = build(to_name="Zoë Ångström, Jr.", subject="Re: facture impayée € [#C-1]",
                 text="Grüße,\nnous avons reçu votre message.\n", html=None)
    assert data.isascii() and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["To"].addresses[0].display_name == "Zoë Ångström, Jr."
    assert msg["Subject"] == "Re: facture impayée € [#C-1]"
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == "Grüße,\nnous avons reçu votre message.\n"


_UNFOLDABLE = "".join(chr(c) for c in range(33, 127) if chr(c) not in ";,")


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["List-Unsubscribe", "Reply-To", "X-Followup-Concern", "X"]),
       value=st.text(alphabet=_UNFOLDABLE, min_size=1, max_size=400))
def test_a_header_with_nowhere_to_fold_is_written_as_the_stdlib_writes_it(name: str, value: str) -> None:
    # the fast path skips email.header.Header; its bytes must be Header's
    assert _WIRE.fold_binary(name, value) == Compat32(linesep="\r\n").fold_binary(name, value)


def test_a_long_list_unsubscribe_goes_alone_on_the_next_line() -> None:
    mailto = "<mailto:care+o-u1234-0123456789abcdef0123@example.test?subject=stop>"
    raw = build(headers={"List-Unsubscribe": mailto})
    assert f"\r\nList-Unsubscribe: \r\n {mailto}\r\n".encode() in raw
    assert str(message_from_bytes(raw, policy=policy.default)["List-Unsubscribe"]).strip() == mailto
