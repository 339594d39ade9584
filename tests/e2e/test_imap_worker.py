"""The real worker in a subprocess against Dovecot and Postfix: client mail to a threaded acknowledgement,
and a Dovecot restart survived."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0  # not serving yet


def wait_health(port: int, status: int, timeout_s: float) -> float:
    """Seconds until /healthz answers `status`; fails after `timeout_s`, a bound, not a measure."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if health(port) == status:
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"/healthz did not answer {status} within {timeout_s} s")


def health_body(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        return dict(json.load(exc))


def operator_mail(stack: Any, subject: str) -> list[Message]:
    return [m for m in stack.messages("owner") if m["Subject"] == subject
            and m["X-Followup-Instance"] == "support@example.test"]


INCIDENT = "[followup] Incident: the inbox cannot be read"
RESOLVED = "[followup] Resolved: the inbox cannot be read"


def test_worker_survives_dovecot_restart(mailstack: Any, tmp_path: Path) -> None:
    # issue 18, point 3: a dead IDLE connection is noticed, /healthz says so while the inbox reconnects,
    # and the next acknowledgement goes out once Dovecot is back. Point 2: the operator is told once the
    # inbox has been unreadable for FOLLOWUP_INCIDENT_AFTER_MINUTES (3 s here), and once when it is over
    log = tmp_path / "worker.log"
    port = free_port()
    env = worker_env(mailstack, f"sqlite:///{tmp_path / 'f.db'}", FOLLOWUP_METRICS_PORT=str(port),
                     FOLLOWUP_OPERATOR_ADDRESS="owner@example.test", FOLLOWUP_INCIDENT_AFTER_MINUTES="0.05",
                     FOLLOWUP_SCHEDULER_INTERVAL_S="0.5", FOLLOWUP_SEND_BACKOFF_S="1",
                     FOLLOWUP_SEND_BACKOFF_MAX_S="2")
    before = len(operator_mail(mailstack, INCIDENT)), len(operator_mail(mailstack, RESOLVED))
    proc = start_worker(env, log)
    try:
        wait_log(log, "open (IDLE)")
        wait_health(port, 200, 20)
        mailstack.stop_dovecot()
        try:
            noticed = wait_health(port, 503, 20)
            print(f"dead IDLE connection noticed by /healthz after {noticed:.1f} s")
            wait_log(log, "retrying in")
            assert health(port) == 503  # still reconnecting: Dovecot is down
            wait_log(log, "operator told")
            assert "inbox-unreadable" in health_body(port)["incidents"]
        finally:
            mailstack.start_dovecot()
        mid = make_msgid(domain="client.example")
        mailstack.send(client_mail(sender="Alice <alice@example.test>", to="support@example.test",
                                   subject="After restart", message_id=mid,
                                   body="This is unacceptable, nobody called us back."),
                       mail_from="alice@example.test", rcpt_to=["support@example.test"])
        ack_for(mailstack, "alice", mid, timeout_s=30)
        wait_log(log, "is back after")
        wait_health(port, 200, 20)
        # the incident mail waited in the outbox (Postfix's logins go through Dovecot too) and went out
        # with the one saying it is over: one of each, however long the outage and however many retries
        mailstack.wait_for_message("owner", lambda m: m["Subject"] == RESOLVED, timeout_s=30)
        time.sleep(1.5)  # a second of either would arrive by now
        assert (len(operator_mail(mailstack, INCIDENT)), len(operator_mail(mailstack, RESOLVED))) == \
            (before[0] + 1, before[1] + 1)
        assert "inbox-unreadable" not in health_body(port)["incidents"]
    finally:
        assert stop_worker(proc) == 0, log.read_text()[-3000:]


def dovecot_processes(stack: Any) -> list[int]:
    """Dovecot's master and every process under it."""
    master = int(Path(stack._layout.dovecot_pidfile).read_text().split()[0])
    found, todo = [], [master]
    while todo:
        pid = todo.pop()
        found.append(pid)
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        todo.extend(int(c) for c in children)
    return found


def test_a_server_gone_silent_is_noticed_and_the_worker_carries_on(mailstack: Any, tmp_path: Path) -> None:
    # issue 18, point 3: a connection that dies without a word (the server frozen, a network gone) sat in
    # IDLE for its whole renewal time; the heartbeat (DONE every imap_heartbeat_s) finds it
    log = tmp_path / "worker.log"
    port = free_port()
    env = worker_env(mailstack, f"sqlite:///{tmp_path / 'f.db'}", FOLLOWUP_METRICS_PORT=str(port))
    proc = start_worker(env, log)
    frozen: list[int] = []
    try:
        wait_log(log, "open (IDLE)")
        wait_health(port, 200, 20)
        frozen = dovecot_processes(mailstack)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        noticed = wait_health(port, 503, 30)
        print(f"silent IMAP server noticed by /healthz after {noticed:.1f} s")
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        mid = make_msgid(domain="client.example")
        mailstack.send(client_mail(sender="Alice <alice@example.test>", to="support@example.test",
                                   subject="After the freeze", message_id=mid,
                                   body="This is unacceptable, nobody called us back."),
                       mail_from="alice@example.test", rcpt_to=["support@example.test"])
        ack_for(mailstack, "alice", mid, timeout_s=60)
        wait_health(port, 200, 30)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        assert stop_worker(proc) == 0, log.read_text()[-3000:]
