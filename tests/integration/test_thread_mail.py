"""Client mail as mail programs deliver it, written blind in seven languages (`*/threads-heldout.jsonl`).

`bench/threads_languages.py --json` reads each email as the service reads it (its quote cut, then the
default detector) and prints, a language, how many emails lost a line of the client's own words and the
detector's figures; this test holds them to the issue's targets. The sets are held out: training never
reads them, and the quote cut was changed from their odd ids only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "data/client_emails/threads-heldout.jsonl",
         *sorted((ROOT / "data/client_emails_i18n").glob("*/threads-heldout.jsonl"))]
LOST_AT_MOST = 0.05  # of a language's emails; at first 4-10 of 90 lost words (bench/RESULTS.md)


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "bench/threads_languages.py"), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    return {str(row["lang"]): row for row in rows}


def test_there_is_thread_mail_in_each_language(figures: dict[str, dict[str, object]]) -> None:
    assert all(f.is_file() for f in FILES), FILES
    assert set(figures) == {"en", "de", "es", "fr", "it", "nl", "pt"}


@pytest.mark.parametrize("lang", ["en", "de", "es", "fr", "it", "nl", "pt"])
def test_a_clients_words_are_read_whole_and_heard(lang: str, figures: dict[str, dict[str, object]]) -> None:
    row = figures[lang]
    n, lost = int(str(row["n"])), int(str(row["lost"]))
    three, concern = (float(x) for x in row["read"])  # type: ignore[attr-defined]
    assert lost <= LOST_AT_MOST * n, row
    assert three >= 0.85 and concern >= 0.90, row  # the targets, on mail as it arrives
