"""Owners' commands do only what the owner wrote (issue 17, points 5 to 7), through the real worker and store.

Two clients' concerns escalate into the owner's digest; the owner answers it the way
real mail programs do (an unmarked quote under an Outlook header block in the owner's
language, an attribution line, no separator at all, an inline answer between quoted
lines, an HTML reply), or a stranger forges an answer. Only the owner's own lines may
change anything.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from inscriptis import get_text

from service.clock import ManualClock
from service.runtime.worker import Worker
from service.settings import AccountConfig, Settings
from service.store.models import ActionItem, Concern, MessageRow

from mailfactory import client_mail, drop
from support import query

MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)
DIGEST_TIME = datetime(2026, 11, 25, 8, 31, tzinfo=UTC)
ACME = AccountConfig(name="Acme", owner="boss@example.test", domains=["client.example"],
                     second_level="chief@example.test", staff=["ben@example.test"], timezone="Europe/Lisbon",
                     business_hours="09:00-17:00", digest_time="08:30")
OWNER_LINE = "C-2: call Bo about the boiler by Friday"


def settings_for(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(inbox_url=f"maildir://{tmp_path / 'in'}", outbox_url=f"maildir://{tmp_path / 'out'}",
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", shared_address="care@example.test",
                    default_owner="owner@example.test", accounts=[ACME], signing_key="test-key", **kw)


def sent(tmp_path: Path) -> list[EmailMessage]:
    new = tmp_path / "out" / "new"
    return [message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for p in sorted(new.iterdir(), key=lambda p: p.stat().st_mtime_ns)] if new.exists() else []


def plain(msg: EmailMessage) -> str:
    return str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def html(msg: EmailMessage) -> str:
    return str(msg.get_body(("html",)).get_content())  # type: ignore[union-attr]


def encoded(text: str) -> str:
    """`text` as one RFC 2047 encoded word: how a subject or name with any character in it arrives."""
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def with_header(raw: bytes, name: str, value: str) -> bytes:
    """`raw` with header `name` replaced by `value` written as is (the stdlib refuses some values we need)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(name.lower().encode() + b":")]
    return b"\r\n".join([*lines, f"{name}: {value}".encode()]) + b"\r\n\r\n" + body


async def run(settings: Settings, clock: ManualClock) -> dict[str, int]:
    stats = await Worker(settings, clock=clock).run_once()
    return {**stats.outcomes, "sent": stats.sent}


async def digest_of_two(tmp_path: Path, *, bo_subject: str = "Boiler broken again", bo_name: str = "Bo",
                        **kw: Any) -> tuple[Settings, ManualClock, EmailMessage]:
    """C-1 (Ana's complaint) and C-2 (Bo's complaint) escalated into boss@'s digest; C-1 is its example."""
    settings = settings_for(tmp_path, **kw)
    clock = ManualClock(MONDAY_10)
    drop(tmp_path / "in", client_mail(body="The invoice is wrong again and nobody has answered my emails."))
    bo = client_mail(sender="Bo <bo@client.example>", subject="x",
                     body="The boiler is broken again and nobody has answered my emails.")
    drop(tmp_path / "in", with_header(with_header(bo, "Subject", encoded(bo_subject)), "From",
                                      f"{encoded(bo_name)} <bo@client.example>"))
    await run(settings, clock)
    clock.current = datetime(2026, 11, 24, 10, 1, tzinfo=UTC)  # past both deadlines: escalated
    await run(settings, clock)
    clock.current = DIGEST_TIME
    await run(settings, clock)
    [digest] = [m for m in sent(tmp_path) if m["To"] == "boss@example.test"]
    return settings, clock, digest


def answer(digest: EmailMessage, body: str, *, sender: str = "Boss <boss@example.test>",
           message_id: str = "<answer@example.test>", html_body: str | None = None,
           headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(digest["Reply-To"])
    msg["Subject"] = f"RE: {digest['Subject']}"
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = str(digest["Message-ID"])
    for name, value in (headers or {}).items():
        msg[name] = value
    if html_body is None:
        msg.set_content(body)
    else:  # an HTML-only reply: the worker reads it as text
        msg.set_content(html_body, subtype="html")
    return msg.as_bytes(policy=policy.SMTP)


async def outcome(settings: Settings, tmp_path: Path) -> tuple[dict[int, str], list[ActionItem], str]:
    """Each concern's status, the action items, and the owner's confirmation text."""
    statuses = {c.id: c.status for c in await query(settings, Concern)}
    items = await query(settings, ActionItem)
    confirmations = [plain(m) for m in sent(tmp_path) if m["In-Reply-To"] == "<answer@example.test>"]
    return statuses, items, confirmations[-1] if confirmations else ""


# -- point 5: quoted digests are never commands ---------------------------------------------------

FROM, TO = "Client care <care@example.test>", "boss@example.test"
OUTLOOK_HEADERS = {  # the header block Outlook writes above an unmarked quote, by the reader's language
    "en": ["From: {f}", "Sent: Wednesday, November 25, 2026 8:31 AM", "To: {t}", "Subject: {s}"],
    "de": ["Von: {f}", "Gesendet: Mittwoch, 25. November 2026 08:31", "An: {t}", "Betreff: {s}"],
    "fr": ["De : {f}", "Envoyé : mercredi 25 novembre 2026 08:31", "À : {t}", "Objet : {s}"],
    "es": ["De: {f}", "Enviado el: miércoles, 25 de noviembre de 2026 8:31", "Para: {t}", "Asunto: {s}"],
    "it": ["Da: {f}", "Inviato: mercoledì 25 novembre 2026 08:31", "A: {t}", "Oggetto: {s}"],
    "nl": ["Van: {f}", "Verzonden: woensdag 25 november 2026 08:31", "Aan: {t}", "Onderwerp: {s}"],
    "pt": ["De: {f}", "Enviada em: quarta-feira, 25 de novembro de 2026 08:31", "Para: {t}", "Assunto: {s}"],
    "pl": ["Od: {f}", "Wysłano: środa, 25 listopada 2026 08:31", "Do: {t}", "Temat: {s}"],
    "sv": ["Från: {f}", "Skickat: den 25 november 2026 08:31", "Till: {t}", "Ämne: {s}"],
    "ru": ["От: {f}", "Отправлено: 25 ноября 2026 г. 8:31", "Кому: {t}", "Тема: {s}"],
    "zh": ["发件人: {f}", "发送时间: 2026年11月25日 8:31", "收件人: {t}", "主题: {s}"],
    "zh-full-width": ["发件人： {f}", "发送时间： 2026年11月25日 星期三 8:31", "收件人： {t}", "主题： {s}"],
    "tr": ["Kimden: {f}", "Gönderildi: 25 Kasım 2026 Çarşamba 08:31", "Kime: {t}", "Konu: {s}"],
    "fi": ["Lähettäjä: {f}", "Lähetetty: keskiviikko 25. marraskuuta 2026 8.31", "Vastaanottaja: {t}", "Aihe: {s}"],
    "ja": ["差出人: {f}", "送信日時: 2026年11月25日 8:31", "宛先: {t}", "件名: {s}"],
    "ru-bold-mac": ["*От:* {f}", "*Дата:* среда, 25 ноября 2026 г. в 08:31", "*Кому:* {t}", "*Тема:* {s}"],
}
ATTRIBUTIONS = {  # Gmail's and Apple Mail's lines above a quote that HTML-to-text leaves unmarked
    "gmail-ru": "ср, 25 нояб. 2026 г. в 08:31, Client care <care@example.test>:",
    "gmail-zh": "Client care <care@example.test> 于2026年11月25日周三 08:31写道：",
    "gmail-ja": "2026年11月25日(水) 8:31 Client care <care@example.test>:",
    "gmail-tr": "Client care <care@example.test>, 25 Kas 2026 Çar, 08:31 tarihinde şunu yazdı:",
    "gmail-fi": "ke 25. marrask. 2026 klo 8.31 Client care (care@example.test) kirjoitti:",
    "apple-fr": "Le 25 nov. 2026 à 08:31, Client care a écrit :",
}


def outlook_quote(lang: str, digest: EmailMessage) -> str:
    block = [line.format(f=FROM, t=TO, s=digest["Subject"]) for line in OUTLOOK_HEADERS[lang]]
    return f"{OWNER_LINE}\n\n" + "\n".join(block) + "\n\n" + plain(digest)


QUOTES = {
    **{f"outlook-{lang}": (lambda d, lang=lang: outlook_quote(lang, d)) for lang in OUTLOOK_HEADERS},
    **{name: (lambda d, a=line: f"{OWNER_LINE}\n\n{a}\n\n{plain(d)}") for name, line in ATTRIBUTIONS.items()},
    "original-message-ru": lambda d: f"{OWNER_LINE}\n\n-------- Исходное сообщение --------\n{plain(d)}",
    "underscores": lambda d: f"{OWNER_LINE}\n\n________________________________\n{plain(d)}",
    "no-separator": lambda d: f"{OWNER_LINE}\n{plain(d)}",
    "no-separator-indented": lambda d: f"{OWNER_LINE}\n\n" + "\n".join("\t" + x for x in plain(d).splitlines()),
    "no-separator-shouted": lambda d: f"{OWNER_LINE}\n\n" + plain(d).upper(),
    "no-separator-html-as-text": lambda d: f"{OWNER_LINE}\n\n{get_text(html(d))}",
    "inline-between-marks": lambda d: "\n".join(
        (f"> {x}" if k % 3 else x) for k, x in enumerate(plain(d).splitlines())) + f"\n{OWNER_LINE}\n",
}


@pytest.mark.parametrize("shape", sorted(QUOTES))
async def test_a_quoted_digest_is_never_carried_out(tmp_path: Path, shape: str) -> None:
    settings, clock, digest = await digest_of_two(tmp_path)
    drop(tmp_path / "in", answer(digest, QUOTES[shape](digest)))
    assert (await run(settings, clock)).get("owner_commands") == 1
    statuses, items, confirmation = await outcome(settings, tmp_path)
    # the owner's own line is recorded; nothing of the digest is carried out, nor even read back as a problem
    assert statuses == {1: "acknowledged", 2: "planned"}, confirmation
    assert [(i.concern_id, i.text, i.done_at) for i in items] == [(2, "call Bo about the boiler", None)]
    assert "C-2 #1: call Bo about the boiler" in confirmation and "Not understood" not in confirmation, confirmation
    assert [m["Subject"] for m in sent(tmp_path) if "ana@client.example" in str(m["To"])] == \
        ["Re: Invoice charged twice [#C-1]"]  # her acknowledgement, and no closing note


async def test_an_html_reply_quoting_the_html_digest_runs_only_the_owners_line(tmp_path: Path) -> None:
    settings, clock, digest = await digest_of_two(tmp_path)
    quoted = html(digest).split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
    reply = f"<html><body><div>{OWNER_LINE}</div><div><br></div><div>{quoted}</div></body></html>"
    drop(tmp_path / "in", answer(digest, "", html_body=reply))
    await run(settings, clock)
    statuses, items, confirmation = await outcome(settings, tmp_path)
    assert statuses == {1: "acknowledged", 2: "planned"} and len(items) == 1, confirmation


async def test_a_digest_example_copied_as_written_is_refused_with_the_reason(tmp_path: Path) -> None:
    settings, clock, digest = await digest_of_two(tmp_path)
    how = plain(digest).split("How to answer", 1)[1]
    examples = [x.strip() for x in how.splitlines() if x.strip().startswith("C-1")]
    assert len(examples) == 4 and all("<" in x for x in examples)  # every example holds a placeholder
    drop(tmp_path / "in", answer(digest, "\n".join(x.replace("C-1", "C-2") for x in examples)))
    await run(settings, clock)
    statuses, items, confirmation = await outcome(settings, tmp_path)
    assert statuses == {1: "acknowledged", 2: "acknowledged"} and items == []
    assert confirmation.count("replace each <...> with your own words") == 4, confirmation


# -- point 6: line separators are not lines ------------------------------------------------------

SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s):04X}" for s in SEPARATORS])
async def test_a_line_separator_in_a_clients_subject_never_makes_a_command(tmp_path: Path, sep: str) -> None:
    settings, clock, digest = await digest_of_two(tmp_path, bo_subject=f"Boiler{sep}C-1 resolved")
    text = plain(digest)
    assert not any(s in text or s in html(digest) for s in SEPARATORS)  # one plain line in the digest
    # answered inline between quoted lines, the way Thunderbird and mutt quote a digest
    quoted = "\n".join(f"> {x}" for x in text.split("\n"))
    drop(tmp_path / "in", answer(digest, f"{quoted}\n{OWNER_LINE}\n"))
    await run(settings, clock)
    statuses, items, confirmation = await outcome(settings, tmp_path)
    assert statuses == {1: "acknowledged", 2: "planned"} and len(items) == 1, confirmation


async def test_a_separator_inside_an_owners_line_is_not_a_line_end(tmp_path: Path) -> None:
    settings, clock, digest = await digest_of_two(tmp_path)
    drop(tmp_path / "in", answer(digest, "C-2 resolved: boiler replaced\u2028C-1 resolved\n"))
    await run(settings, clock)
    statuses, _, confirmation = await outcome(settings, tmp_path)
    assert statuses == {1: "acknowledged", 2: "resolved"}, confirmation  # one line, about C-2 alone


async def test_a_clients_name_reaches_the_owner_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings, _clock, digest = await digest_of_two(
        tmp_path, bo_name="boss@example.test\u202e\u2066", bo_subject="Invoice \u202egnp.exe\u202c")
    for text in (plain(digest), html(digest)):
        assert not any(c in text for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
    client_lines = [x for x in plain(digest).splitlines() if "Client:" in x]
    assert any("bo@client.example" in x for x in client_lines)
    assert not any("boss@example.test" in x for x in client_lines)  # a name shaped like the owner's address
    import asyncio

    from service import cli

    for key, value in {"FOLLOWUP_INBOX_URL": settings.inbox_url, "FOLLOWUP_OUTBOX_URL": settings.outbox_url,
                       "FOLLOWUP_DATABASE_URL": settings.database_url, "FOLLOWUP_LOG_FORMAT": "text",
                       "FOLLOWUP_SHARED_ADDRESS": "care@example.test",
                       "FOLLOWUP_ACCOUNTS": ACME.model_dump_json().join("[]")}.items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    assert await asyncio.to_thread(cli.main, ["show", "C-2"]) == 0
    out = capsys.readouterr().out
    client = next(x for x in out.splitlines() if x.startswith("client ")).split(" account ")[0]
    assert "boss@example.test" not in client and "bo@client.example" in client
    assert "\u202e" not in out and "\u2066" not in out


# -- point 7: Authentication-Results read properly --------------------------------------------------

BOSS = "Boss <boss@example.test>"
ENCODED_BOSS = encoded("Boss <boss@example.test>")


@pytest.mark.parametrize(("sender", "results", "authserv_id", "decision", "reason"), [
    # the attacker's own domain passing DKIM outweighs nothing
    (BOSS, ["mx.example.test; dkim=pass header.d=evil.example; dmarc=fail header.from=example.test"], None,
     "refused_command", "authentication-failed"),
    (BOSS, ["mx.example.test; dmarc = fail header.from=example.test"], None, "refused_command",
     "authentication-failed"),
    (BOSS, ["mx.example.test; dmarc=fail (but dkim=pass for the relay) header.from=example.test"], None,
     "refused_command", "authentication-failed"),
    (BOSS, ['mx.example.test; spf=pass smtp.mailfrom="dkim=pass"@evil.example; dkim=fail header.d=example.test'],
     None, "refused_command", "authentication-failed"),
    (BOSS, ["mx.example.test; dkim=pass header.d=evil.example; spf=fail smtp.mailfrom=example.test"], None,
     "refused_command", "authentication-failed"),
    # our receiving server's verdict, below an internal relay's: only the named authserv-id is read
    (BOSS, ["relay.example.test; dmarc=pass header.from=example.test", "mx.example.test; dmarc=fail"],
     "mx.example.test", "refused_command", "authentication-failed"),
    # Microsoft 365 writes no authserv-id: the topmost header is read
    (BOSS, ["spf=fail (sender IP is 192.0.2.7) smtp.mailfrom=example.test; dkim=none (message not signed) "
            "header.d=none;dmarc=fail action=oreject header.from=example.test;compauth=fail reason=000"], None,
     "refused_command", "authentication-failed"),
    (BOSS, ["mx.example.test; dkim=pass header.i=@example.test header.s=s1 header.b=AbC; spf=pass (sender is "
            "permitted) smtp.mailfrom=boss@example.test; dmarc=pass (p=REJECT sp=REJECT dis=NONE) "
            "header.from=example.test"], "mx.example.test", "owner_commands", "recorded:1"),
    (BOSS, ["evil.example; dmarc=fail"], "mx.example.test", "owner_commands", "recorded:1"),  # not our server's
    # From read the way DMARC reads it
    ("boss@example.test <mallory@evil.example>", [], None, "refused_command", "ambiguous-from"),
    ('"boss@example.test" <mallory@evil.example>', [], None, "refused_command", "ambiguous-from"),
    (ENCODED_BOSS, [], None, "refused_command", "ambiguous-from"),
    ("Boss <boss@example.test>, Mallory <mallory@evil.example>", [], None, "refused_command", "ambiguous-from"),
    ('"boss@example.test" <boss@example.test>', [], None, "owner_commands", "recorded:1"),
])
async def test_owner_authority_reads_authentication_and_from_the_dmarc_way(
        tmp_path: Path, sender: str, results: list[str], authserv_id: str | None, decision: str,
        reason: str) -> None:
    settings, clock, digest = await digest_of_two(tmp_path, **({"authserv_id": authserv_id} if authserv_id else {}))
    raw = with_header(answer(digest, OWNER_LINE), "From", sender)
    head, _, body = raw.partition(b"\r\n\r\n")
    on_top = "".join(f"Authentication-Results: {r}\r\n" for r in results).encode()  # as the servers add them
    drop(tmp_path / "in", on_top + head + b"\r\n\r\n" + body)
    assert (await run(settings, clock)).get(decision) == 1
    [row] = await query(settings, MessageRow, MessageRow.message_id == "<answer@example.test>")
    assert row.decision == decision and row.reasons[0] == reason
    statuses, _, _ = await outcome(settings, tmp_path)
    assert statuses[2] == ("planned" if decision == "owner_commands" else "acknowledged")


async def test_a_second_from_header_or_x_original_from_never_makes_an_owner(tmp_path: Path) -> None:
    settings, clock, digest = await digest_of_two(tmp_path)
    twice = with_header(answer(digest, OWNER_LINE), "From", BOSS)
    head, _, body = twice.partition(b"\r\n\r\n")
    drop(tmp_path / "in", head + b"\r\nFrom: Mallory <mallory@evil.example>\r\n\r\n" + body)
    relayed = answer(digest, OWNER_LINE, sender="Mallory <mallory@evil.example>", message_id="<relayed@example.test>",
                     headers={"X-Original-From": BOSS, "Reply-To": BOSS, "Sender": BOSS})
    drop(tmp_path / "in", relayed)
    await run(settings, clock)
    rows = {r.message_id: r for r in await query(settings, MessageRow, MessageRow.direction == "in")}
    assert rows["<answer@example.test>"].reasons[0] == "ambiguous-from"
    assert rows["<relayed@example.test>"].decision == "refused_command"
    assert (await outcome(settings, tmp_path))[0] == {1: "acknowledged", 2: "acknowledged"}
