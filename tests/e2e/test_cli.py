"""The `followup` command as operators use it: exit codes, settings errors, classify, demo."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mailfactory import client_mail, drop

ROOT = Path(__file__).resolve().parents[2]


def followup(*args: str, env: dict[str, str] | None = None, stdin: str = "",
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "service", *args], input=stdin, text=True,
                          capture_output=True, env=base, cwd=cwd or ROOT, timeout=120)


GOOD = {"FOLLOWUP_INBOX_URL": "maildir:///tmp/x-in", "FOLLOWUP_OUTBOX_URL": "maildir:///tmp/x-out",
        "FOLLOWUP_SHARED_ADDRESS": "care@example.test"}


@pytest.mark.parametrize(("env", "named"), [
    ({"FOLLOWUP_INBOX_URL": None}, "FOLLOWUP_INBOX_URL"),
    ({"FOLLOWUP_INBOX_URL": "pop3://mail.example.com"}, "FOLLOWUP_INBOX_URL"),
    ({"FOLLOWUP_OUTBOX_URL": "smtp://"}, "FOLLOWUP_OUTBOX_URL"),
    ({"FOLLOWUP_SHARED_ADDRESS": "not an address"}, "FOLLOWUP_SHARED_ADDRESS"),
    ({"FOLLOWUP_DATABASE_URL": "mysql://db/x"}, "FOLLOWUP_DATABASE_URL"),
    ({"FOLLOWUP_INBOX_URL": "imaps://care@mail.example.com/INBOX"}, "FOLLOWUP_IMAP_PASSWORD"),
    ({"FOLLOWUP_POLL_INTERVAL_S": "-3"}, "FOLLOWUP_POLL_INTERVAL_S"),
    ({"FOLLOWUP_PREPARE_PROCESS": "sometimes"}, "FOLLOWUP_PREPARE_PROCESS"),
    ({"FOLLOWUP_ALERT_WINDOW_MINUTES": "0"}, "FOLLOWUP_ALERT_WINDOW_MINUTES"),
    ({"FOLLOWUP_ALERT_WINDOW_MINUTES": "-5"}, "FOLLOWUP_ALERT_WINDOW_MINUTES"),
    ({"FOLLOWUP_ALERT_WINDOW_MINUTES": "an hour"}, "FOLLOWUP_ALERT_WINDOW_MINUTES"),
    ({"FOLLOWUP_CONFIG": "/nonexistent/followup.toml"}, "FOLLOWUP_CONFIG"),
])
def test_bad_setting_names_itself_and_exits_2(env: dict[str, str | None], named: str) -> None:
    merged = {**GOOD, **env}
    result = followup("concerns", env={k: v for k, v in merged.items() if v is not None})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_commands_keep_their_names_and_order_in_help() -> None:
    # `followup --help` lists them in this order; a noun module moving must not reorder them
    from service.cli.app import build_parser

    result = followup("--help")
    assert result.returncode == 0, result.stderr
    # a command's line starts four spaces in; a help text wrapped onto the next line starts further in
    listed = [line.split()[0] for line in result.stdout.split("positional arguments:")[1].splitlines()[2:]
              if line.startswith("    ") and not line.startswith("     ")]
    assert listed == ["run", "demo", "classify", "train", "eval", "concerns", "quarantine", "show", "plan",
                      "done", "resolve", "digest", "accounts", "clients", "events", "migrate", "check"]
    assert all(build_parser().parse_args([*argv]).func for argv in (
        ["run"], ["demo"], ["classify"], ["train", "--data", "x"], ["eval"], ["concerns"], ["quarantine"],
        ["show", "C-1"], ["plan", "C-1", "x", "--due", "Friday"], ["done", "C-1"], ["resolve", "C-1"],
        ["digest", "--owner", "o@example.test"], ["accounts", "list"], ["events", "list"], ["migrate"],
        ["check"]))


@pytest.mark.parametrize("argv", [
    ["--help"], ["show", "--help"], ["events", "add"], ["plan", "C-1"], ["nonsense"],
])
def test_help_and_usage_mistakes_load_no_database_model_or_settings_library(argv: list[str]) -> None:
    # the fast start: what only parses arguments imports no SQLAlchemy, numpy, pydantic or Jinja2
    code = ("import sys\n"
            "from service.cli import main\n"
            "try:\n"
            f"    main({argv!r})\n"
            "except SystemExit as exc:\n"
            "    code = exc.code\n"
            "heavy = ('sqlalchemy', 'numpy', 'pydantic', 'pydantic_settings', 'jinja2', 'alembic')\n"
            "print(code, sorted(m for m in heavy if m in sys.modules))\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    run = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True, env=base, cwd=ROOT,
                         timeout=60)
    assert run.stdout.splitlines()[-1] == ("0 []" if argv[-1] == "--help" else "2 []"), run.stderr


def test_password_never_printed(tmp_path: Path) -> None:
    env = {**GOOD, "FOLLOWUP_INBOX_URL": "imaps://care@127.0.0.1:1/INBOX",
           "FOLLOWUP_IMAP_PASSWORD": "hunter2-secret", "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/d.db"}
    result = followup("check", env=env)
    assert result.returncode == 1
    assert "FAIL  inbox" in result.stdout
    assert "hunter2-secret" not in result.stdout + result.stderr


def test_toml_file_and_env_override(tmp_path: Path) -> None:
    config = tmp_path / "f.toml"
    config.write_text(f'inbox_url = "maildir://{tmp_path}/in"\noutbox_url = "maildir://{tmp_path}/out"\n'
                      f'shared_address = "care@example.test"\ndatabase_url = "sqlite:///{tmp_path}/a.db"\n')
    result = followup("--config", str(config), "migrate")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.db").exists()
    result = followup("migrate", env={"FOLLOWUP_CONFIG": str(config),
                                      "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/b.db"})
    assert result.returncode == 0 and (tmp_path / "b.db").exists()
    config.write_text("this is = = not toml")
    result = followup("--config", str(config), "migrate")
    assert result.returncode == 2 and "FOLLOWUP_CONFIG" in result.stderr


def test_example_config_is_valid(tmp_path: Path) -> None:
    result = followup("--config", str(ROOT / "config" / "followup.example.toml"), "migrate",
                      env={"FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/e.db"})
    assert result.returncode == 0, result.stderr


def test_classify_contract_needs_no_settings() -> None:
    lines = [{"id": 1, "subject": "Late again", "body": "This is unacceptable, nobody called."},
             {"id": "b", "subject": "Go-live", "body": "I'm worried we won't be ready. What happens if it fails?"},
             {"id": 3, "subject": "Thanks", "body": "Thank you, all good."}]
    result = followup("classify", stdin="\n".join(json.dumps(x) for x in lines))
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(o["id"], o["label"]) for o in out] == [(1, "complaint"), ("b", "anxiety"), (3, "none")]
    assert set(out[0]) == {"id", "label", "score", "evidence", "lang"}
    assert out[0]["evidence"]


def test_classify_eml(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(client_mail(subject="Audit", body="We are really worried about the audit next week."))
    result = followup("classify", "--eml", str(path))
    assert json.loads(result.stdout)["label"] == "anxiety"


def test_demo_runs_the_loop(tmp_path: Path) -> None:
    result = followup("demo", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "C-1" in result.stdout and "first acknowledgement" in result.stdout
    # two acknowledgements, then with the clock moved: the owner's digest, check-ins and a reminder
    assert "We are checking in on your concern" in result.stdout
    assert "Practice system go-live: in 3 days [#E-1]" in result.stdout and "[ ] Staff logins tested" in result.stdout
    assert "to owner@followup-demo.example: Digest" in result.stdout
    # Claire wrote in French: she is checked on in French
    assert "Bonjour Claire," in result.stdout and "Nous revenons vers vous au sujet de votre dossier" in result.stdout
    assert len(list((tmp_path / "demo" / "outbox" / "new").iterdir())) >= 5


def test_run_once_and_concerns_json(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    (inbox / "new" / "1.test").write_bytes(client_mail())
    env = {**GOOD, "FOLLOWUP_INBOX_URL": f"maildir://{inbox}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/d.db"}
    run = followup("run", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1])["sent"] == 1
    # one structured log line per message, with its Message-ID and decision
    lines = [json.loads(x) for x in run.stderr.splitlines() if x.startswith("{")]
    decided = [x for x in lines if x.get("decision")]
    assert len(decided) == 1 and decided[0]["message_id"].startswith("<") and decided[0]["concern"] == "C-1"
    listed = json.loads(followup("concerns", "--format", "json", env=env).stdout)
    assert [(c["id"], c["kind"], c["status"], c["escalation_level"]) for c in listed] == [
        ("C-1", "complaint", "acknowledged", 0)]
    assert "C-1" in followup("concerns", env=env).stdout


@pytest.mark.parametrize("entry", ["followup", "python -m service"])
def test_run_once_with_a_prepare_process_and_two_connections(tmp_path: Path, entry: str) -> None:
    # the helper is spawned: it imports the command's main module again, which must not run the command
    inbox = tmp_path / "in"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    for k in range(5):
        (inbox / "new" / f"{k}.test").write_bytes(client_mail(sender=f"C{k} <c{k}@client.example>"))
    (inbox / "new" / "5.test").write_bytes(client_mail(subject="Thanks", body="Thank you, all good now."))
    env = {**GOOD, "FOLLOWUP_INBOX_URL": f"maildir://{inbox}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/d.db", "FOLLOWUP_PREPARE_PROCESS": "true",
           "FOLLOWUP_SMTP_CONNECTIONS": "2", "FOLLOWUP_FETCH_BATCH": "2"}
    if entry == "followup":
        base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
        run = subprocess.run([str(Path(sys.executable).with_name("followup")), "run", "--once"], text=True,
                             capture_output=True, env={**base, **env}, cwd=ROOT, timeout=120)
    else:
        run = followup("run", "--once", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1])["sent"] == 5
    assert "prepare process died" not in run.stderr
    assert len(list((tmp_path / "out" / "new").iterdir())) == 5
    assert sorted(p.name for p in (inbox / "new").iterdir()) == []


def test_sigterm_while_the_worker_starts_ends_in_a_clean_exit(tmp_path: Path) -> None:
    # the signal is sent from inside Worker(): after the command began, before its loop runs
    inbox = tmp_path / "in"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    env = {**GOOD, "FOLLOWUP_INBOX_URL": f"maildir://{inbox}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/d.db", "FOLLOWUP_LOG_FORMAT": "text"}
    code = ("import os, signal\n"
            "import service.runtime.worker as w\n"
            "from service.cli import main\n"
            "start = w.Worker.__init__\n"
            "def starting(self, *a, **k):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    start(self, *a, **k)\n"
            "w.Worker.__init__ = starting\n"
            "raise SystemExit(main(['run']))\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    run = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True, env={**base, **env},
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "asked to (signal 15) while starting" in run.stderr


def test_show_prints_the_rules_each_inbound_message_met(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    env = {**GOOD, "FOLLOWUP_INBOX_URL": f"maildir://{inbox}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/d.db", "FOLLOWUP_DEFAULT_OWNER": "owner@example.test"}
    drop(inbox, client_mail(message_id="<r1@client.example>"))
    assert followup("run", "--once", env=env).returncode == 0
    drop(inbox, client_mail(subject="Re: Invoice [#C-1]", body="Thank you, all good now.",
                            message_id="<r2@client.example>", in_reply_to="<r1@client.example>"))
    assert followup("run", "--once", env=env).returncode == 0
    shown = json.loads(followup("show", "C-1", "--format", "json", env=env).stdout)
    rules = {m["message_id"]: m["rules"] for m in shown["messages"]}
    assert rules["<r1@client.example>"]["hit"] == ["concern-detected"]
    assert rules["<r2@client.example>"]["hit"] == ["follow-up", "already-acknowledged", "all-is-well"]
    assert rules["<r2@client.example>"]["missed"][:4] == ["duplicate", "message-id-reused", "reply-tag",
                                                          "own-address"]
    assert rules["<r2@client.example>"]["missed"][-3:] == ["reopen-resolved", "new-worry", "urgent-message"]
    assert [r for mid, r in rules.items() if not mid.startswith("<r")] == [None]  # the acknowledgement
    text = followup("show", "C-1", env=env).stdout
    assert "      rules hit: follow-up, already-acknowledged, all-is-well\n" in text
    assert "      rules missed: duplicate, message-id-reused, reply-tag, own-address," in text
    # a message stored before the record was kept shows none
    with sqlite3.connect(tmp_path / "d.db") as db:
        db.execute("UPDATE messages SET rules = NULL WHERE message_id = '<r1@client.example>'")
    shown = json.loads(followup("show", "C-1", "--format", "json", env=env).stdout)
    assert {m["message_id"]: m["rules"] for m in shown["messages"]}["<r1@client.example>"] is None
    assert followup("show", "C-1", env=env).stdout.count("rules hit:") == 1


# -- issue 18, point 5: one line for every failure, the database in a fixed place, options checked --

@pytest.mark.parametrize(("args", "env", "code", "says"), [
    (["concerns"], {"FOLLOWUP_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:9/x"}, 1,
     ["database postgresql+asyncpg://postgres:***@127.0.0.1:9/x", "FOLLOWUP_DATABASE_URL"]),
    (["migrate"], {"FOLLOWUP_DATABASE_URL": "sqlite:////nonexistent-folder/f.db"}, 1,
     ["/nonexistent-folder/f.db", "unable to open database file", "FOLLOWUP_DATABASE_URL"]),
    (["show", "C-1"], {"FOLLOWUP_DATABASE_URL": "sqlite:///{tmp}/never-made.db"}, 1,
     ["no database at {tmp}/never-made.db"]),
    (["classify", "--eml", "/nonexistent.eml"], {}, 1, ["/nonexistent.eml", "No such file"]),
    (["concerns", "--status", "opne"], {}, 2, ["--status", "no status opne", "acknowledged"]),
    (["plan", "C-1", "call", "--owner", "not an address", "--due", "friday"], {}, 2,
     ["--owner", "plain address"]),
    (["resolve", "twelve"], {}, 2, ["not a concern id: 'twelve'"]),
], ids=["postgres refused", "sqlite folder missing", "no sqlite file", "missing eml", "bad status", "bad owner",
        "bad concern id"])
def test_a_failure_is_one_line_that_names_it(tmp_path: Path, args: list[str], env: dict[str, str], code: int,
                                            says: list[str]) -> None:
    merged = {**GOOD, **{k: v.format(tmp=tmp_path) for k, v in env.items()}}
    result = followup(*args, env=merged, cwd=tmp_path)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("usage:")]
    assert len(lines) == 1, result.stderr
    assert all(part.format(tmp=tmp_path) in lines[0] for part in says), lines[0]
    assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "never-made.db").exists()  # a read is never what makes a database


def test_the_default_database_is_one_file_whatever_the_folder(tmp_path: Path) -> None:
    env = {**GOOD, "XDG_DATA_HOME": str(tmp_path / "data")}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert followup("migrate", env=env, cwd=tmp_path / "a").returncode == 0
    checked = followup("check", env=env, cwd=tmp_path / "b")
    assert f"ok    database: {tmp_path / 'data' / 'followup' / 'followup.db'}, reachable" in checked.stdout
    listed = followup("concerns", env=env, cwd=tmp_path / "b")
    assert listed.returncode == 0 and listed.stdout.strip() == "no concerns", listed.stderr
    assert not list((tmp_path / "a").iterdir()) and not list((tmp_path / "b").iterdir())
    # with a settings file, next to it; a relative SQLite path in it is read from its folder too
    config = tmp_path / "conf" / "followup.toml"
    config.parent.mkdir()
    config.write_text('database_url = "sqlite:///here.db"\n')
    done = followup("--config", str(config), "migrate", env={**GOOD}, cwd=tmp_path / "b")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "conf" / "here.db").exists() and not list((tmp_path / "b").iterdir())
