"""`followup classify` says each text's language; `followup clients` lists and sets a client's language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def followup(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    return subprocess.run([sys.executable, "-m", "service", *args], input=stdin, text=True, capture_output=True,
                          env={**base, **(env or {})}, cwd=ROOT, timeout=120)


def test_classify_returns_each_texts_language() -> None:
    lines = [{"id": "a", "subject": "Factura", "body": "La factura vuelve a estar mal, ya es la tercera vez."},
             {"id": "b", "subject": "", "body": "Ich mache mir Sorgen wegen der Umstellung am Freitag."},
             {"id": "c", "subject": "", "body": "ok"}]
    run = followup("classify", stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert run.returncode == 0, run.stderr
    got = {d["id"]: d["lang"] for d in map(json.loads, run.stdout.splitlines())}
    assert got == {"a": "es", "b": "de", "c": None}


def test_clients_set_language_checks_its_arguments(tmp_path: Path) -> None:
    env = {"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/f.db"}
    assert followup("migrate", env=env).returncode == 0
    bad = followup("clients", "set-language", "ana@client.example", "french", env=env)
    assert bad.returncode == 2 and "ISO 639-1" in bad.stderr
    unknown = followup("clients", "set-language", "ana@client.example", "fr", env=env)
    assert unknown.returncode == 1 and "no client 'ana@client.example'" in unknown.stderr
    listed = followup("clients", "list", "--format", "json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_accounts_say_which_language_clients_and_owners_are_written_in(tmp_path: Path) -> None:
    env = {"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/f.db"}
    assert followup("migrate", env=env).returncode == 0
    made = followup("accounts", "set", "Atelier", "--owner", "marc@example.test", "--language", "FR", env=env)
    assert made.returncode == 0, made.stderr
    changed = followup("accounts", "set", "Atelier", "--owner-language", "de", env=env)
    assert changed.returncode == 0, changed.stderr
    listed = {a["name"]: a for a in json.loads(followup("accounts", "list", "--format", "json", env=env).stdout)}
    assert (listed["Atelier"]["language"], listed["Atelier"]["owner_language"]) == ("fr", "de")
    assert (listed["default"]["language"], listed["default"]["owner_language"]) == ("en", "en")
    table = followup("accounts", "list", env=env).stdout
    assert "lang fr/de" in table
    bad = followup("accounts", "set", "Atelier", "--language", "français", env=env)
    assert bad.returncode != 0 and "language code like en, fr or de" in bad.stderr
    # the default account's languages come from the settings; a bad one names itself and exits 2
    wrong = followup("accounts", "list", env={**env, "FOLLOWUP_DEFAULT_LANGUAGE": "Deutsch"})
    assert wrong.returncode == 2 and "FOLLOWUP_DEFAULT_LANGUAGE" in wrong.stderr
    german = followup("accounts", "list", "--format", "json",
                      env={**env, "FOLLOWUP_DEFAULT_LANGUAGE": "de", "FOLLOWUP_DEFAULT_OWNER_LANGUAGE": "nl"})
    assert german.returncode == 0, german.stderr
    default = next(a for a in json.loads(german.stdout) if a["name"] == "default")
    assert (default["language"], default["owner_language"]) == ("de", "nl")
