"""Language of whole emails: read as one line (the baseline) against followup's `identify`.

    python bench/language_lines.py

`identify` reads an email as one line first, and where fastText is less than `SURE` of it, again line
by line, each line's guesses weighted by its words (`service/detector/language.py`). On every labelled
client email in `data/` (the language is its folder's: `client_emails/` is English): right, wrong, and
left without a language (below `MIN_CONFIDENCE`), and the time a message, as a ratio to the baseline
measured in the same run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from service.detector import language
from service.detector.training.datasets import read_user_file

ROOT = Path(__file__).resolve().parent.parent


def emails() -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / "data").glob("client_emails*/**/*.jsonl")):
        if path.name == "social.jsonl":  # public posts, not mail
            continue
        lang = path.parent.name if "client_emails_i18n" in path.parts else "en"
        out += [(lang, e.text) for e in read_user_file(path)]
    return out


def as_one_line(text: str) -> language.Identified:
    """`identify` as it was before it read lines: the whole text as one line, nothing more."""
    if len(language._LETTERS.findall(text)) < 2:
        return language.Identified(None, 0.0)
    code, confidence = language._best(text)
    return language.Identified(code if confidence >= language.MIN_CONFIDENCE else None, confidence)


def measure(name: str, how: Callable[[str], language.Identified], data: list[tuple[str, str]],
            baseline: float | None) -> float:
    counts: Counter[str] = Counter()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        found = [how(text) for _, text in data]
        best = min(best, time.perf_counter() - start)
    for (lang, _), got in zip(data, found, strict=True):
        counts["none" if got.code is None else "right" if got.code == lang else "wrong"] += 1
    per = best / len(data) * 1e6
    ratio = f"   ratio to baseline {per / baseline:.2f}" if baseline else ""
    print(f"{name:26} right {counts['right']:5} ({counts['right'] / len(data):.2%})  wrong {counts['wrong']:3}  "
          f"no language {counts['none']:3}   {per:5.0f} us/msg{ratio}")
    return per


def main() -> None:
    data = emails()
    language.identify("warm up the model")
    print(f"{len(data)} labelled emails in {len({lang for lang, _ in data})} languages, best of 3")
    baseline = measure("one line (baseline)", as_one_line, data, None)
    measure("identify (lines if unsure)", language.identify, data, baseline)


if __name__ == "__main__":
    main()
