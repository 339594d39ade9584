"""`followup classify` says each text's language; `followup clients` lists and sets a client's language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from mailfactory import client_mail

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


def test_classify_reads_a_training_files_text_and_names_a_line_it_cannot() -> None:
    lines = ['{"id": "t", "text": "C\'est inadmissible, trois semaines sans r\u00e9ponse."}',
             '{"id": "x", "message": "no field it knows"}']
    run = followup("classify", stdin="\n".join(lines) + "\n")
    assert run.returncode == 1  # the bad line is named and the rest still classified
    verdicts = [json.loads(x) for x in run.stdout.splitlines()]
    assert [(v["id"], v["label"], v["lang"]) for v in verdicts] == [("t", "complaint", "fr")]
    assert 'line 2: no "subject", "body" or "text" field' in run.stderr


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


def test_clients_list_says_which_language_each_is_written_to_in(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    (inbox / "new" / "1.mail").write_bytes(client_mail(
        sender="Claire <claire@client.example>", subject="Facture",
        body="Bonjour, la facture est encore fausse et personne ne me rappelle. C'est inadmissible."))
    own = tmp_path / "templates" / "pl"
    own.mkdir(parents=True)
    (own / "checkin.txt.j2").write_text("Dzień dobry {{ first_name }}\n")
    env = {"FOLLOWUP_INBOX_URL": f"maildir://{inbox}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/f.db"}
    assert followup("run", "--once", env=env).returncode == 0
    [row] = json.loads(followup("clients", "list", "--format", "json", env=env).stdout)
    assert (row["client"], row["lang"], row["replies_in"]) == ("claire@client.example", "fr", "fr")
    # Swedish has no templates: said so, and she is written to in her account's language
    swedish = followup("clients", "set-language", "claire@client.example", "sv", env=env)
    assert swedish.returncode == 0 and "no templates in it" in swedish.stdout
    [row] = json.loads(followup("clients", "list", "--format", "json", env=env).stdout)
    assert (row["lang"], row["replies_in"]) == ("sv", "en")
    # a language the operator added a folder for is one
    with_polish = {**env, "FOLLOWUP_TEMPLATES_DIR": str(tmp_path / "templates")}
    polish = followup("clients", "set-language", "claire@client.example", "pl", env=with_polish)
    assert polish.returncode == 0 and "no templates" not in polish.stdout
    assert "replies in pl" in followup("clients", "list", env=with_polish).stdout


def test_check_compiles_every_languages_templates_and_names_a_language_without_them(tmp_path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "in" / sub).mkdir(parents=True)
    env = {"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
           "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DATABASE_URL": f"sqlite:///{tmp_path}/f.db",
           "FOLLOWUP_DEFAULT_OWNER_LANGUAGE": "sv"}
    assert followup("migrate", env=env).returncode == 0
    run = followup("check", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok    templates: replies in de, en, es, fr, it, nl, pt;" in run.stdout
    assert "warn  templates: account 'default' owner_language 'sv' has no templates: written in en" in run.stdout
    # an operator's Polish folder with a broken template: named, with its file
    own = tmp_path / "templates" / "pl"
    own.mkdir(parents=True)
    (own / "checkin.txt.j2").write_text("Dzień dobry {{ first_name }\n")
    broken = followup("check", env={**env, "FOLLOWUP_TEMPLATES_DIR": str(tmp_path / "templates")})
    assert broken.returncode == 1
    line = next(li for li in broken.stdout.splitlines() if "templates" in li)
    assert line.startswith("FAIL  templates: TemplateSyntaxError") and "checkin.txt.j2" in line, broken.stdout
