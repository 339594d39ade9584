"""The shipped client mail: every file reads, ids are unique, held-out mail never trains the model."""

from __future__ import annotations

import json
import re
import shlex
from collections import defaultdict
from pathlib import Path

import pytest

from service.detector.training.datasets import read_user_file

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
FILES = sorted([*DATA.glob("client_emails/*.jsonl"), *DATA.glob("client_emails_i18n/*/*.jsonl")])
# what evaluation reads and training must never see
HELD_OUT = [f for f in FILES if "heldout" in f.name or f.relative_to(DATA).as_posix() == "client_emails/test.jsonl"]
TRAINING = [f for f in FILES if f not in HELD_OUT]
# written for training, measured, and left out of the shipped model's command (each folder's README says why)
MEASURED_ONLY = {f for f in TRAINING if f.name == "polite.jsonl"}
# a held-out email sharing this much of its 6-word runs with one training email is a copy, not new mail
# (thread pairs, a complaint and the reply that quotes it, share words only in the quote)
COPIED = 0.5


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read(path: Path) -> list[tuple[object, list[str]]]:
    """Each email's id and the words the model reads of it (quoted earlier mail left out, as in training)."""
    return [(record["id"], re.findall(r"\w+", example.text.lower()))
            for record, example in zip(_records(path), read_user_file(path), strict=True)]


def _runs(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 6]) for i in range(max(len(words) - 5, 1))}


def test_the_data_is_there() -> None:
    assert len(HELD_OUT) >= 7 and len(TRAINING) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(DATA).as_posix())
def test_every_file_reads_as_labelled_mail(path: Path) -> None:
    records = _records(path)
    assert records and len(read_user_file(path)) == len(records)
    for record in records:
        assert record["complaint"] in (0, 1) and record["anxiety"] in (0, 1), record["id"]
        if path.parent.parent.name == "client_emails_i18n":
            assert record["lang"] == path.parent.name, record["id"]


def test_ids_are_unique_across_all_the_data() -> None:
    seen: dict[object, str] = {}
    for path in FILES:
        for record in _records(path):
            assert record["id"] not in seen, f"{record['id']} in {seen.get(record['id'])} and {path.name}"
            seen[record["id"]] = path.name


def test_no_held_out_email_is_a_copy_of_a_training_one() -> None:
    owners: dict[tuple[str, ...], set[object]] = defaultdict(set)
    for path in TRAINING:
        for key, words in _read(path):
            for run in _runs(words):
                owners[run].add(key)
    copies = []
    for path in HELD_OUT:
        for key, words in _read(path):
            runs = _runs(words)
            shared: dict[object, int] = defaultdict(int)
            for run in runs:
                for owner in owners.get(run, ()):
                    shared[owner] += 1
            worst = max(shared.values(), default=0)
            if worst / len(runs) >= COPIED:
                copies.append((key, max(shared, key=lambda k: shared[k]), round(worst / len(runs), 2)))
    assert copies == []


def _training_command() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"followup train --data \.\./shared/data/goemotions .*?--out service/\S+", readme, re.S)
    assert found, "the README's command that rebuilds the shipped model"
    return shlex.split(found.group(0).replace("\\\n", " "))


def test_the_readme_trains_on_every_training_file_and_on_no_held_out_one() -> None:
    words = _training_command()
    named = {words[i + 1] for i, word in enumerate(words[:-1]) if word in {"--data", "--posts"}}
    assert {f.relative_to(ROOT).as_posix() for f in TRAINING if f not in MEASURED_ONLY} <= named
    assert not {f.relative_to(ROOT).as_posix() for f in HELD_OUT} & named
