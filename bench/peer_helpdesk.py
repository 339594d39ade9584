"""A peer, side by side: django-helpdesk's `get_email` against followup's `Worker.run_once()`.

    sudo .venv/bin/python bench/peer_helpdesk.py [--messages 1000] [--peer-venv /tmp/followup-peer-venv]

Installs django-helpdesk (pinned below) into its own virtual environment (made
once, reused after), generates a minimal Django project for it in a temporary
directory (SQLite, outgoing mail through Django's SMTP backend), and starts the
test suite's Dovecot + Postfix on 127.0.0.1 with three mailboxes, `peer`, `peerwal`
and `ours`. All get the same backlog, written by `bench/loop_throughput.py`'s
generator (same seed, so the same messages). Then, in the same run:

* django-helpdesk's `get_email` (a queue on IMAPS to `peer`) until every message
  is filed: tickets and follow-ups counted in its database. Twice, on two
  copies of the mailbox: with Django's SQLite defaults (rollback journal,
  synchronous=FULL), and with the pragmas followup always sets on SQLite (WAL,
  synchronous=NORMAL, through Django's `init_command`), so that the difference
  in durability settings can be told apart from the difference in the code;
* followup's `Worker.run_once()` on `ours` (SQLite), as loop_throughput.py runs it.

Each side sends to its own aiosmtpd server that counts and discards. Then the
time from delivery to first reply: django-helpdesk polls (cron runs `get_email`,
which reads a queue only when `email_box_interval` minutes have passed since its
last check); its default interval is read from its installed source, and its
processing time for one message is measured. followup's is measured by
`bench/latency.py` (IMAP IDLE), called in the same run. Only 127.0.0.1 is
contacted, apart from PyPI while the peer's environment is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's `service`, not whichever one the venv points at
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

HELPDESK_VERSION = "2.6.1"  # django-helpdesk, the latest on PyPI when this was written
PEER_REQUIREMENTS = [f"django-helpdesk=={HELPDESK_VERSION}"]  # it pulls Django and the rest itself


# -- the peer's environment and project -----------------------------------------------------


def ensure_peer_venv(path: Path) -> Path:
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} and installing {' '.join(PEER_REQUIREMENTS)} from PyPI ...", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    probe = ("import django, helpdesk, importlib.metadata as m, sys;"
             "print(m.version('django-helpdesk'), django.get_version(), sys.version.split()[0])")
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    if out[0] != HELPDESK_VERSION:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    return python


SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "peer-bench-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# what django-helpdesk's installation docs list, without the optional pinax-teams
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
HELPDESK_TEAMS_MODE_ENABLED = False
SITE_ID = 1
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peerdesk.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "helpdesk.sqlite3",
                         "OPTIONS": {sqlite_options}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
MEDIA_ROOT = BASE_DIR / "media"
LOGIN_URL = "/helpdesk/login/"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = {sink_port}
DEFAULT_FROM_EMAIL = "peer@example.test"
"""

URLS = """\
from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("helpdesk/", include("helpdesk.urls"))]
"""

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

# run in the peer's venv: `setup` makes the queue, `get_email` times the command in-process
DRIVER = """\
import json
import os
import sys
import time

t0 = time.perf_counter()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
import django

django.setup()
from django.core.management import call_command
from helpdesk.models import Queue

if sys.argv[1] == "setup":
    box = json.loads(sys.argv[2])
    Queue.objects.create(title="Peer", slug="peer", email_address=box["address"], allow_email_submission=True,
                         email_box_type="imap", email_box_host="127.0.0.1", email_box_port=box["port"],
                         email_box_ssl=True, email_box_user=box["address"], email_box_pass=box["password"],
                         email_box_imap_folder="INBOX")
    q = Queue.objects.get(slug="peer")
    print(json.dumps({"email_box_interval": q.email_box_interval}))
elif sys.argv[1] == "get_email":
    if "--due" in sys.argv:  # as if the interval had passed: the queue is read now
        Queue.objects.update(email_box_last_check=None)
    t1, c1 = time.perf_counter(), time.process_time()
    call_command("get_email")
    print(json.dumps({"setup": t1 - t0, "get_email": time.perf_counter() - t1, "cpu": time.process_time() - c1}))
"""


# followup's own SQLite settings (service/store/db.py), for the second run of the peer
WAL = {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"}


def make_project(where: Path, sink_port: int, sqlite_options: dict[str, str]) -> None:
    (where / "peerdesk").mkdir(parents=True)
    (where / "peerdesk" / "__init__.py").write_text("")
    (where / "peerdesk" / "settings.py").write_text(
        SETTINGS.replace("{sink_port}", str(sink_port)).replace("{sqlite_options}", repr(sqlite_options)))
    (where / "peerdesk" / "urls.py").write_text(URLS)
    (where / "manage.py").write_text(MANAGE)
    (where / "driver.py").write_text(DRIVER)


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON", "VIRTUAL_ENV"))}
    env["DJANGO_SETTINGS_MODULE"] = "peerdesk.settings"
    return env


def run_driver(python: Path, project: Path, *args: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    done = subprocess.run([str(python), "driver.py", *args], cwd=project, env=peer_env(),
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"driver {args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def peer_counts(project: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(project / "helpdesk.sqlite3")) as db:
        tickets = db.execute("select count(*) from helpdesk_ticket").fetchone()[0]
        followups = db.execute("select count(*) from helpdesk_followup").fetchone()[0]
    return int(tickets), int(followups)


def helpdesk_defaults(python: Path) -> dict[str, str]:
    """Read the polling defaults from the installed source rather than from memory."""
    site = subprocess.run([str(python), "-c", "import helpdesk, os; print(os.path.dirname(helpdesk.__file__))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    models = Path(site, "models.py").read_text()
    field = re.search(r"email_box_interval = models\.IntegerField\((.*?)\n    \)", models, re.S)
    default = re.search(r'default="?(\d+)"?', field.group(1) if field else "")
    unit = re.search(r"\(in (\w+)\)", field.group(1) if field else "")
    cron = re.search(r"^# (\S+ \* \* \* \*) .*poll_helpdesk_email_queues", Path(site, "poll_helpdesk_email_queues.sh")
                     .read_text(), re.M)
    return {"interval": default.group(1) if default else "?", "unit": unit.group(1) if unit else "?",
            "cron": cron.group(1) if cron else "?", "source": site}


# -- sinks -----------------------------------------------------------------------------------


class Counter:
    """Accepts and discards; counts, and remembers when each In-Reply-To was answered."""

    def __init__(self) -> None:
        self.count = 0
        self.answered: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.count += 1
            self.answered.setdefault(str(msg["In-Reply-To"]).strip(), time.monotonic())
        return "250 OK"


# -- delivery to first reply, the peer's part ------------------------------------------------


def peer_one_message(stack: Any, python: Path, project: Path, sink: Counter, n: int) -> tuple[float, float, float]:
    """One message through Postfix; once it is in the Maildir, a due get_email. Returns
    (process start -> reply accepted, get_email in-process, process wall)."""
    from mailfactory import client_mail

    mid = f"<peer-lat-{n}-{uuid.uuid4().hex[:6]}@client.example>"
    raw = client_mail(sender=f"Client {n} <c{n}@client.example>", to="peer@example.test", message_id=mid,
                      subject=f"Invoice L{n}", body="We were charged twice and nobody has called back. "
                      "This is unacceptable.")
    stack.send(raw, mail_from=f"c{n}@client.example", rcpt_to=["peer@example.test"])
    stack.wait_for_message("peer", lambda m: str(m["Message-ID"]) == mid)
    start = time.monotonic()
    timing, wall = run_driver(python, project, "get_email", "--due")
    if mid not in sink.answered:
        raise RuntimeError(f"django-helpdesk sent no reply to {mid}")
    return sink.answered[mid] - start, timing["get_email"], wall


# -- main --------------------------------------------------------------------------------------


def followup_latency(messages: int) -> str:
    """bench/latency.py in this run (it starts its own mail stack); its printout, captured."""
    from latency import main_async

    out = io.StringIO()
    scratch, saved = tempfile.mkdtemp(prefix="followup-peer-latency-"), tempfile.tempdir
    tempfile.tempdir = scratch  # latency.py leaves its temporary directory behind: keep it in ours
    try:
        with contextlib.redirect_stdout(out):
            asyncio.run(main_async(argparse.Namespace(messages=messages, interval=1.0)))
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(scratch, ignore_errors=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--peer-venv", type=Path, default=Path("/tmp/followup-peer-venv"))
    parser.add_argument("--latency-messages", type=int, default=5, help="single-message polls of the peer")
    parser.add_argument("--followup-latency-messages", type=int, default=20, help="messages for bench/latency.py")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    from aiosmtpd.controller import Controller
    from loop_throughput import backlog, run_loop

    from conftest import free_port
    from mailstack import start_mailstack

    python = ensure_peer_venv(args.peer_venv)
    versions = subprocess.run([str(python), "-c", "import django, sys; print(django.get_version(), "
                               "sys.version.split()[0])"], check=True, capture_output=True, text=True).stdout.split()
    defaults = helpdesk_defaults(python)
    print(f"peer: django-helpdesk {HELPDESK_VERSION} on Django {versions[0]}, Python {versions[1]}, "
          f"in {args.peer_venv}")

    tmp = Path(tempfile.mkdtemp(prefix="followup-peer-"))
    ours_db = tmp / "followup.db"
    # 'peer': Django's SQLite defaults; 'peerwal': the same peer with followup's SQLite pragmas
    peers = {"peer": (tmp / "peer", {}), "peerwal": (tmp / "peerwal", WAL)}
    stack = start_mailstack(users=(*peers, "ours"))
    sinks: dict[str, tuple[Counter, int, Any]] = {}
    try:
        for side in ("peer", "ours"):
            counter, port = Counter(), free_port()
            controller = Controller(counter, hostname="127.0.0.1", port=port)
            controller.start()
            sinks[side] = (counter, port, controller)
        for user, (project, options) in peers.items():
            make_project(project, sinks["peer"][1], options)
            subprocess.run([str(python), "manage.py", "migrate", "-v", "0"], cwd=project, env=peer_env(),
                           check=True)
            queue, _ = run_driver(python, project, "setup", json.dumps(
                {"address": f"{user}@example.test", "port": stack.imaps_port, "password": stack.password}))

        t = time.perf_counter()
        for user in (*peers, "ours"):
            backlog(stack, user, args.messages)
        filed = args.messages + 1  # backlog() delivers a warm-up message through Postfix first
        print(f"backlog: the same {args.messages} messages (+1 warm-up through Postfix) in mailboxes "
              f"{', '.join(repr(u) for u in (*peers, 'ours'))}, written in {time.perf_counter() - t:.1f}s\n")

        theirs: dict[str, tuple[float, float, int]] = {}
        for user, (project, options) in peers.items():
            load, before = os.getloadavg()[0], sinks["peer"][0].count
            timing, wall = run_driver(python, project, "get_email")
            tickets, followups = peer_counts(project)
            theirs[user] = (timing["get_email"], timing["cpu"], tickets)
            what = "Django's SQLite defaults" if not options else "SQLite WAL, synchronous=NORMAL"
            print(f"django-helpdesk get_email, {what}:")
            print(f"  {tickets} tickets, {followups} follow-ups, {sinks['peer'][0].count - before} replies in "
                  f"{timing['get_email']:.1f}s = {tickets / timing['get_email']:5.0f} msg/s   (process wall "
                  f"{wall:.1f}s, Django setup {timing['setup']:.2f}s)")
            print(f"  CPU of its process during get_email {timing['cpu']:.1f}s; load average before {load:.1f}")
            if tickets != filed:
                print(f"  WARNING: {filed} messages in the mailbox, {tickets} tickets filed")

        load, cpu = os.getloadavg()[0], time.process_time()
        # the default settings: FOLLOWUP_PREPARE_PROCESS=auto, one SMTP connection
        processed, ours_s, sent, _, helper_share = asyncio.run(run_loop(
            stack, "ours", f"sqlite+aiosqlite:///{ours_db}", sinks["ours"][1], 100, "auto", 1))
        cpu = time.process_time() - cpu + helper_share * ours_s  # its prepare process's CPU too
        print("followup Worker.run_once(), SQLite (WAL, synchronous=NORMAL, as it always sets):")
        print(f"  {processed} messages filed, {sent} replies in {ours_s:.1f}s = {processed / ours_s:5.0f} msg/s   "
              f"(includes its migrate check and loading the model)")
        print(f"  CPU of its process (with its sink's thread) and its prepare process {cpu:.1f}s; "
              f"load average before {load:.1f}")
        for user, (took, their_cpu, tickets) in theirs.items():
            print(f"ratio ours/theirs ({user:<7}): {(processed / ours_s) / (tickets / took):5.2f} in msg/s; "
                  f"CPU per message theirs {their_cpu / tickets * 1000:.0f} ms, ours {cpu / processed * 1000:.0f} ms")
        print()
        print("per message:")
        print("  django-helpdesk: one IMAP FETCH (RFC822) per message, then STORE \\Deleted (EXPUNGE at the end:")
        print("    the mail leaves the mailbox); a Ticket and a FollowUp row; for every message without")
        print("    Auto-Submitted/List-* headers, a text+HTML 'new ticket' mail to the submitter, rendered from")
        print("    its database templates and sent through Django's SMTP backend, one connection per mail;")
        print("    no classification")
        print("  followup: UID FETCH in batches of 100, parse with quote stripping, detect complaint/anxiety")
        print("    in one model pass per batch (in its prepare process once a full batch shows a backlog:")
        print("    FOLLOWUP_PREPARE_PROCESS=auto), store in one transaction per fetched batch (message row;")
        print("    concern and outbox rows for complaints and worries), acknowledge only those, over one SMTP")
        print("    connection, set a keyword (the mail stays)")
        print("  TLS: both read over IMAPS on the same port; followup verifies Dovecot's certificate against")
        print("    the suite's CA, django-helpdesk's imaplib.IMAP4_SSL (no context given) does not verify it")
        print("  time: get_email in-process after Django's setup (setup shown apart); run_once whole, with its")
        print("    migrate check and the model's loading; same machine, same Dovecot, same messages\n")

        interval = float(defaults["interval"])
        print(f"django-helpdesk polling, from its installed source ({defaults['source']}):")
        print(f"  Queue.email_box_interval default {defaults['interval']} ({defaults['unit'].lower()}), "
              f"this run's queue: {queue['email_box_interval']}; get_email reads a queue only when that long")
        print(f"  has passed since its last check; it is run by cron (its poll_helpdesk_email_queues.sh "
              f"suggests '{defaults['cron']}', its configuration docs '*/5 * * * *')")
        project = peers["peer"][0]  # Django's defaults
        lat = [peer_one_message(stack, python, project, sinks["peer"][0], n) for n in range(args.latency_messages)]
        to_reply = statistics.median(x[0] for x in lat)
        in_proc = statistics.median(x[1] for x in lat)
        proc_wall = statistics.median(x[2] for x in lat)
        print(f"  one message, due poll, median of {len(lat)}: process start -> reply accepted {to_reply:.2f}s "
              f"(get_email itself {in_proc:.2f}s, process wall {proc_wall:.2f}s)")
        wait_mean, wait_worst = interval * 60 / 2, interval * 60
        print(f"  expected delivery -> first reply: mean {wait_mean:.0f}s + {to_reply:.2f}s = "
              f"{wait_mean + to_reply:.0f}s, worst {wait_worst:.0f}s + {to_reply:.2f}s = {wait_worst + to_reply:.0f}s"
              f" (polling wait derived from the default, not slept)")
        print("  note: get_email stamps the check after reading the box; with a '*/5' cron the next tick can find")
        print("  the interval a moment short and skip, making the period 10 min (6 with '*/1'); not counted above\n")
    finally:
        for _, _, controller in sinks.values():
            controller.stop()
        stack.stop(remove_root=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print("followup, IMAP IDLE (bench/latency.py in this run):")
    text = followup_latency(args.followup_latency_messages)
    print("  " + text.strip().replace("\n", "\n  "))
    e2e = re.search(r"end to end.*?p50\s+(\d+) ms.*?mean (\d+) ms", text)
    if e2e:
        ours_lat = int(e2e.group(2)) / 1000
        print(f"\ndelivery -> first reply, mean: django-helpdesk {wait_mean + to_reply:.0f}s (default polling), "
              f"followup {ours_lat:.2f}s (p50 {int(e2e.group(1)) / 1000:.2f}s): "
              f"about {(wait_mean + to_reply) / ours_lat:.0f}x")


if __name__ == "__main__":
    main()
