"""What writing to a client in their language costs: an acknowledgement in each language against English.

    python bench/reply_languages.py [--runs 2000]

The baseline is the English acknowledgement as it was written before replies had languages: the
template rendered with a date from strftime. Each language is the same acknowledgement from its own
template folder with its date from Babel (CLDR). Figures are microseconds per acknowledgement, best of
five rounds, and their ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.core import letters
from service.mailformat.locale_dates import moment
from service.mailformat.render import render

WHEN = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def context(lang: str, respond_by: str) -> dict[str, object]:
    return {**letters.client_context(client_name="Ana Lima", token="C-3", subject="Facture", kind="complaint",
                                     team_name="Care", handler_name="Mia", unsubscribe="mailto:a@b.example",
                                     lang=lang),
            "client_name": "Ana Lima", "evidence": ["La facture est fausse pour la troisième fois."],
            "respond_by": respond_by}


def english_before() -> None:
    local = WHEN.astimezone(PARIS)
    render("ack_complaint", context("en", local.strftime("%A %d %B, %H:%M ") + (local.tzname() or "")))


def in_language(lang: str) -> None:
    render("ack_complaint", context(lang, moment(WHEN, PARIS, lang)))


def best_us(work: object, runs: int) -> float:
    assert callable(work)
    work()  # compiled and cached before timing
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            work()
        rounds.append((time.perf_counter() - start) / runs * 1e6)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    base = best_us(english_before, args.runs)
    print(f"acknowledgement, rendered and dated, best of 5 x {args.runs}")
    print(f"  English, strftime date (baseline)  {base:6.1f} us")
    for lang in ("en", "es", "de", "fr", "pt", "it", "nl"):
        took = best_us(lambda lang=lang: in_language(lang), args.runs)
        print(f"  {lang}, Babel date                    {took:6.1f} us   ratio to baseline {took / base:.2f}")


if __name__ == "__main__":
    main()
