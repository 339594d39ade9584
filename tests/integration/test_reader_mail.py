"""The word readers hear mail written blind, by writers who never saw them (data/reader_mail/).

`bench/readers_languages.py --json` builds each message as real mail, parses it with the service's
parser and reads it the way the service reads it; this test holds its verdicts to floors, so the bench
and the test read the mail one way. The floors hold on whole files: the odd ids the readers were
developed against, and the even ids, read only to measure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "data" / "reader_mail"
FILES = sorted(FOLDER.glob("*.jsonl"))
SECOND = sorted((FOLDER / "second").glob("*.jsonl"))
THIRD = sorted((FOLDER / "third").glob("*.jsonl"))
# the share of each kind's messages that must be heard, and the share of its near misses that may be:
# floors under the figures measured in every language (bench/RESULTS.md), so that a change that loses
# ground in any language fails; the readers started at 0.13-0.2 of settled replies heard
HEARD = {"settled": 0.75, "stop": 0.6, "urgent": 0.75, "autoreply": 0.65}
FALSE_ALARMS = {"settled": 0.2, "stop": 0.05, "urgent": 0.05, "autoreply": 0.0}


# the second writer's mail (40 a language, six languages), pooled: 10 of a kind a language is too few for a floor
# of its own; measured first at settled 47/60 heard, 7/36 false; stop 34/48, 1/36; automatic 17/30, 1/30
SECOND_HEARD = {"settled": 0.85, "stop": 0.75, "autoreply": 0.85}
SECOND_FALSE_ALARMS = {"settled": 0.2, "stop": 0.0, "autoreply": 0.0}
# a third writer's, pooled: the readers' development set since (first look: settled 130/175, 22/105 false in
# all seven; stop 87/175, 5/105 in all seven; automatic 38/70, 0/70 in all seven)
THIRD_HEARD = {"settled": 0.9, "stop": 0.6, "autoreply": 0.8}
THIRD_FALSE_ALARMS = {"settled": 0.05, "stop": 0.0, "autoreply": 0.0}


def _bench(*files: Path) -> dict[str, list[dict[str, object]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "bench/readers_languages.py"), "--json", *map(str, files)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    by_lang: dict[str, list[dict[str, object]]] = defaultdict(list)
    for line in done.stdout.splitlines():
        row = json.loads(line)
        by_lang[str(row["lang"])].append(row)
    return by_lang


@pytest.fixture(scope="module")
def verdicts() -> dict[str, list[dict[str, object]]]:
    """What each reader said of each message, by language, as the bench prints it."""
    return _bench()


def test_there_is_blind_mail_in_each_language() -> None:
    assert {p.stem for p in FILES} == {"en", "de", "es", "fr", "it", "nl", "pt"}, f"reader mail in {FOLDER}"


def test_the_bench_reads_every_message(verdicts: dict[str, list[dict[str, object]]]) -> None:
    for path in FILES:
        ids = {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
        assert {row["id"] for row in verdicts[path.stem]} == ids, path.stem


@pytest.mark.parametrize("lang", [p.stem for p in FILES])
def test_each_reader_hears_blind_mail_in_this_language(
        lang: str, verdicts: dict[str, list[dict[str, object]]]) -> None:
    counts: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    wrong: list[str] = []
    for row in verdicts[lang]:
        kind, expect, said = str(row["kind"]), bool(row["expect"]), bool(row["heard"])
        counts[kind, expect][0] += said
        counts[kind, expect][1] += 1
        if said != expect:
            wrong.append(f"{row['id']} {kind}")
    for kind in HEARD:
        heard, n = counts[kind, True]
        alarms, m = counts[kind, False]
        assert n and heard >= HEARD[kind] * n, (kind, heard, n, wrong)
        assert m and alarms <= FALSE_ALARMS[kind] * m, (kind, alarms, m, wrong)


def _pooled(files: list[Path], heard_floor: dict[str, float], alarm_ceiling: dict[str, float]) -> None:
    counts: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for rows in _bench(*files).values():
        for row in rows:
            kind, expect = str(row["kind"]), bool(row["expect"])
            counts[kind, expect][0] += bool(row["heard"])
            counts[kind, expect][1] += 1
    for kind in heard_floor:
        heard, n = counts[kind, True]
        alarms, m = counts[kind, False]
        assert n and heard >= heard_floor[kind] * n, (kind, heard, n)
        assert m and alarms <= alarm_ceiling[kind] * m, (kind, alarms, m)


def test_a_second_writers_mail_is_heard_too() -> None:
    assert {p.stem for p in SECOND} == {"de", "es", "fr", "it", "nl", "pt"}, f"reader mail in {FOLDER / 'second'}"
    _pooled(SECOND, SECOND_HEARD, SECOND_FALSE_ALARMS)


def test_a_third_writers_mail_is_heard_too() -> None:
    assert {p.stem for p in THIRD} == {"en", "de", "es", "fr", "it", "nl", "pt"}, f"reader mail in {FOLDER / 'third'}"
    _pooled(THIRD, THIRD_HEARD, THIRD_FALSE_ALARMS)
