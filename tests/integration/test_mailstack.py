"""The real Postfix + Dovecot test stack (tests/mailstack.py) does what the other tests rely on."""

from __future__ import annotations

import imaplib
import os
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailstack import (
    Mailstack,
    MailstackStartupError,
    MailstackUnavailable,
    start_mailstack,
)

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def stack() -> Iterator[Mailstack]:
    """A stack of this module's own (it stops and restarts Dovecot)."""
    try:
        started = start_mailstack()
    except MailstackStartupError:
        raise  # the packages are there but the stack is broken: a failure, not a skip
    except MailstackUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Dovecot/Postfix not available: {exc}")
    try:
        yield started
    finally:
        started.stop(remove_root=not os.environ.get("FOLLOWUP_KEEP_MAILSTACK"))


def tagged(to: str, prefix: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Ana Client <ana@client.example>"
    msg["To"] = to
    msg["Subject"] = f"{prefix}-{uuid.uuid4().hex[:10]}"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@client.example>"
    msg.set_content(f"body of {msg['Subject']}\n")
    return msg


def subject_is(subject: object) -> Callable[[EmailMessage], bool]:
    wanted = str(subject)
    return lambda m: m["Subject"] == wanted


def imap_subjects(conn: imaplib.IMAP4, login: str, password: str, subject: str) -> list[str]:
    """Log in, and return the Subject headers of INBOX messages whose subject matches."""
    assert conn.login(login, password)[0] == "OK"
    assert conn.select("INBOX", readonly=True)[0] == "OK"
    status, data = conn.search(None, "HEADER", "Subject", subject)
    assert status == "OK"
    found = []
    for num in data[0].split():
        status, parts = conn.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert status == "OK"
        item = parts[0]
        assert isinstance(item, tuple)
        found.append(item[1].decode().split(":", 1)[1].strip())
    conn.logout()
    return found


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_ports_are_distinct_loopback_and_not_the_shared_ones(stack: Mailstack) -> None:
    ports = [stack.smtp_port, stack.submission_port, stack.smtps_port, stack.imap_port, stack.imaps_port]
    assert len(set(ports)) == 5
    assert not set(ports) & {2525, 2587, 2465, 1143, 1993}
    for port in ports:
        assert not refused(port)
    assert stack.domain == "example.test" and stack.password == "secret"


def test_local_delivery_readable_over_imaps_and_starttls(stack: Mailstack) -> None:
    msg = tagged("support@example.test", "local")
    subject = str(msg["Subject"])
    stack.send(msg, mail_from="ana@client.example", rcpt_to=["support@example.test"])

    got = stack.wait_for_message("support", subject_is(subject))
    assert got["Delivered-To"] == "support@example.test"
    assert got["Return-Path"] == "<ana@client.example>"
    assert got.get_content().strip() == f"body of {subject}"
    assert subject in [m["Subject"] for m in stack.messages("support@example.test")]
    assert subject not in [m["Subject"] for m in stack.messages("catchall")]
    assert str(stack.maildir("support")).startswith(str(stack.root))

    ctx = stack.ssl_context()
    with imaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=ctx) as imaps:
        assert imap_subjects(imaps, "support", stack.password, subject) == [subject]

    with imaplib.IMAP4("127.0.0.1", stack.imap_port) as imap:
        assert "STARTTLS" in imap.capabilities
        imap.starttls(ssl_context=ctx)
        assert isinstance(imap.sock, ssl.SSLSocket)
        assert imap_subjects(imap, "support@example.test", stack.password, subject) == [subject]

    # another user cannot see it, and a wrong password is refused
    with imaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=ctx) as imaps:
        assert imap_subjects(imaps, "alice", stack.password, subject) == []
    with (
        imaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=ctx) as imaps,
        pytest.raises(imaplib.IMAP4.error),
    ):
        imaps.login("support", "not-the-password")


def test_certificate_only_verifies_with_the_stack_ca(stack: Mailstack) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=ssl.create_default_context())
    ctx = stack.ssl_context()
    for host in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", stack.imaps_port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_unknown_recipients_of_any_domain_land_in_catchall(stack: Mailstack) -> None:
    outside = tagged("some-client@elsewhere.test", "outside")
    unknown = tagged("nobody@example.test", "unknown")
    namesake = tagged("support@elsewhere.test", "namesake")  # a known name, another domain
    for msg in (outside, unknown, namesake):
        stack.send(msg, mail_from="support@example.test", rcpt_to=[str(msg["To"])])

    for msg in (outside, unknown, namesake):
        subject = str(msg["Subject"])
        got = stack.wait_for_message("catchall", subject_is(subject))
        assert got["To"] == msg["To"]
        assert got["Delivered-To"] == "catchall@example.test"
    for user in ("support", "owner", "alice", "bob"):
        subjects = {m["Subject"] for m in stack.messages(user)}
        assert not subjects & {outside["Subject"], unknown["Subject"], namesake["Subject"]}


def test_submission_needs_starttls_and_login(stack: Mailstack) -> None:
    ctx = stack.ssl_context()
    msg = tagged("some-client@elsewhere.test", "submission")

    with smtplib.SMTP("127.0.0.1", stack.submission_port, local_hostname="localhost", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")  # no login offered in clear text
        with pytest.raises(smtplib.SMTPSenderRefused) as no_tls:
            smtp.send_message(msg, from_addr="support@example.test", to_addrs=["some-client@elsewhere.test"])
        assert no_tls.value.smtp_code == 530

    with smtplib.SMTP("127.0.0.1", stack.submission_port, local_hostname="localhost", timeout=10) as smtp:
        smtp.starttls(context=ctx)
        smtp.ehlo()
        assert smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as no_auth:
            smtp.send_message(msg, from_addr="support@example.test", to_addrs=["some-client@elsewhere.test"])
        [(code, _)] = no_auth.value.recipients.values()
        assert code == 554
        smtp.rset()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("support@example.test", "not-the-password")

    with smtplib.SMTP("127.0.0.1", stack.submission_port, local_hostname="localhost", timeout=10) as smtp:
        smtp.starttls(context=ctx)
        smtp.login("support@example.test", stack.password)
        assert (
            smtp.send_message(msg, from_addr="support@example.test", to_addrs=["some-client@elsewhere.test"])
            == {}
        )
    got = stack.wait_for_message("catchall", subject_is(msg["Subject"]))
    assert got["To"] == "some-client@elsewhere.test"
    # the refused attempts delivered nothing
    assert [m["Subject"] for m in stack.messages("catchall")].count(msg["Subject"]) == 1


def test_smtps_implicit_tls_with_login(stack: Mailstack) -> None:
    msg = tagged("bob@example.test", "smtps")
    with smtplib.SMTP_SSL(
        "127.0.0.1", stack.smtps_port, local_hostname="localhost", context=stack.ssl_context(), timeout=10
    ) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.send_message(msg, from_addr="support@example.test", to_addrs=["bob@example.test"])
        smtp.rset()
        smtp.login("support", stack.password)  # short login name: auth_default_realm
        smtp.send_message(msg, from_addr="support@example.test", to_addrs=["bob@example.test"])
    stack.wait_for_message("bob", subject_is(msg["Subject"]))


def test_wait_for_message_times_out_listing_what_it_saw(stack: Mailstack) -> None:
    msg = tagged("owner@example.test", "seen")
    stack.send(msg, mail_from="ana@client.example", rcpt_to=["owner@example.test"])
    stack.wait_for_message("owner", subject_is(msg["Subject"]))
    start = time.monotonic()
    with pytest.raises(TimeoutError) as exc:
        stack.wait_for_message("owner", lambda m: False, timeout_s=0.3)
    assert 0.3 <= time.monotonic() - start < 3
    assert str(msg["Subject"]) in str(exc.value)
    assert "owner@example.test" in str(exc.value)


def test_send_raw_bytes(stack: Mailstack) -> None:
    subject = f"raw-{uuid.uuid4().hex[:10]}"
    raw = (
        f"From: ana@client.example\r\nTo: alice@example.test\r\nSubject: {subject}\r\n"
        "Message-ID: <raw@client.example>\r\n\r\nraw body\r\n"
    ).encode()
    stack.send(raw, mail_from="ana@client.example", rcpt_to=["alice@example.test"])
    got = stack.wait_for_message("alice", subject_is(subject))
    assert got.get_content().strip() == "raw body"


def test_dovecot_stop_and_start(stack: Mailstack) -> None:
    assert not refused(stack.imaps_port)
    stack.stop_dovecot()
    try:
        assert refused(stack.imaps_port)
        assert refused(stack.imap_port)
        assert not refused(stack.smtp_port)  # Postfix keeps running and queues the mail
        msg = tagged("support@example.test", "while-down")
        stack.send(msg, mail_from="ana@client.example", rcpt_to=["support@example.test"])
        time.sleep(0.3)
        assert msg["Subject"] not in [m["Subject"] for m in stack.messages("support")]
    finally:
        stack.start_dovecot()
    assert not refused(stack.imaps_port)
    # fast=True: Postfix retries the deferred delivery within seconds
    stack.wait_for_message("support", subject_is(msg["Subject"]), timeout_s=15)
    with imaplib.IMAP4_SSL("127.0.0.1", stack.imaps_port, ssl_context=stack.ssl_context()) as imaps:
        assert imap_subjects(imaps, "support", stack.password, str(msg["Subject"])) == [msg["Subject"]]


def test_second_stack_coexists_and_stop_leaves_nothing(stack: Mailstack) -> None:
    start = time.monotonic()
    other = start_mailstack(users=("support",))
    started_in = time.monotonic() - start
    try:
        assert other.root != stack.root
        mine = {stack.smtp_port, stack.submission_port, stack.smtps_port, stack.imap_port, stack.imaps_port}
        theirs = {other.smtp_port, other.submission_port, other.smtps_port, other.imap_port, other.imaps_port}
        assert not mine & theirs
        msg = tagged("alice@example.test", "other")  # alice is no user there: catchall
        other.send(msg, mail_from="ana@client.example", rcpt_to=["alice@example.test"])
        other.wait_for_message("catchall", subject_is(msg["Subject"]))
        assert msg["Subject"] not in [m["Subject"] for m in stack.messages("catchall")]
        pids = other.pids()
        assert len(pids) >= 4
    finally:
        start = time.monotonic()
        other.stop(remove_root=True)
        stopped_in = time.monotonic() - start
    print(f"second stack: started in {started_in:.2f} s, stopped in {stopped_in:.2f} s")
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists() and _not_zombie(pid)] == []
    assert all(refused(p) for p in theirs)
    assert not other.root.exists()
    assert stack.dovecot_running() and stack.postfix_running()
    assert started_in < 10 and stopped_in < 10


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"
