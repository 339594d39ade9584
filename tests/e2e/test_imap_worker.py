"""The real worker in a subprocess against Dovecot and Postfix: client mail to a threaded acknowledgement,
and a Dovecot restart survived."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from email.message import Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from mailfactory import client_mail

pytestmark = pytest.mark.servers
ROOT = Path(__file__).resolve().parents[2]


def worker_env(stack: Any, db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({
        "FOLLOWUP_INBOX_URL": f"imaps://support@127.0.0.1:{stack.imaps_port}/INBOX",
        "FOLLOWUP_IMAP_PASSWORD": stack.password,
        "FOLLOWUP_OUTBOX_URL": f"smtp://support@127.0.0.1:{stack.submission_port}",
        "FOLLOWUP_SMTP_PASSWORD": stack.password,
        "FOLLOWUP_TLS_CA_FILE": str(stack.ca_file),
        "FOLLOWUP_SHARED_ADDRESS": "support@example.test",
        "FOLLOWUP_DATABASE_URL": db_url,
        "FOLLOWUP_LOG_FORMAT": "json",
        "FOLLOWUP_LOG_LEVEL": "DEBUG",
    })
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service", "run"], env=env, cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_log(log: Path, needle: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not in worker log:\n{log.read_text(errors='replace')[-3000:]}")


def stop_worker(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


def ack_for(stack: Any, user: str, message_id: str, timeout_s: float = 15) -> Message:
    return stack.wait_for_message(user, lambda m: m["In-Reply-To"] == message_id, timeout_s=timeout_s)


def test_end_to_end_client_mail_to_threaded_acknowledgement(
        mailstack: Any, db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    proc = start_worker(worker_env(mailstack, db_url), log)
    try:
        wait_log(log, "open (IDLE)")
        mid = make_msgid(domain="client.example")
        subject = f"Deadline {uuid.uuid4().hex[:8]}"
        mailstack.send(client_mail(sender="Alice <alice@example.test>", to="support@example.test",
                                   subject=subject, message_id=mid,
                                   body="I'm really worried we won't be ready for the audit on Friday."),
                       mail_from="alice@example.test", rcpt_to=["support@example.test"])
        ack = ack_for(mailstack, "alice", mid)
        assert ack["References"] == mid
        assert ack["Subject"].startswith(f"Re: {subject} [#C-")
        assert ack["Auto-Submitted"] == "auto-replied"
        assert "really worried" in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        # the client answers the acknowledgement: threaded, no second acknowledgement
        reply_id = make_msgid(domain="client.example")
        mailstack.send(client_mail(sender="Alice <alice@example.test>", to="support@example.test",
                                   subject=ack["Subject"], message_id=reply_id,
                                   in_reply_to=ack["Message-ID"], body="Still very worried, honestly."),
                       mail_from="alice@example.test", rcpt_to=["support@example.test"])
        wait_log(log, reply_id)
        time.sleep(1.0)
        acks = [m for m in mailstack.messages("alice") if subject in str(m["Subject"])
                and m["Auto-Submitted"] == "auto-replied"]
        assert len(acks) == 1
    finally:
        assert stop_worker(proc) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert '"decision": "follow_up"' in text and mailstack.password not in text


def test_worker_survives_dovecot_restart(mailstack: Any, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    env = worker_env(mailstack, f"sqlite:///{tmp_path / 'f.db'}")
    proc = start_worker(env, log)
    try:
        wait_log(log, "open (IDLE)")
        mailstack.stop_dovecot()
        try:
            wait_log(log, "retrying in")
            time.sleep(1.0)
        finally:
            mailstack.start_dovecot()
        mid = make_msgid(domain="client.example")
        mailstack.send(client_mail(sender="Alice <alice@example.test>", to="support@example.test",
                                   subject="After restart", message_id=mid,
                                   body="This is unacceptable, nobody called us back."),
                       mail_from="alice@example.test", rcpt_to=["support@example.test"])
        ack_for(mailstack, "alice", mid, timeout_s=30)
        wait_log(log, "is back after")
    finally:
        assert stop_worker(proc) == 0, log.read_text()[-3000:]
