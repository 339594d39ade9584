"""Held-out figures per language: the first held-out set, the fresh one, the thread mail, and all pooled.

    python bench/heldout_languages.py [MODEL ...]    (default: the shipped model)

For English and each of the six other languages: 3-label macro-F1 (complaint, anxiety and none, where
none is a message with neither label) and concern-vs-none F1, with the thresholds the service uses
(a language's own where the model has them). Quality, not speed: the issue's targets are printed
beside the figures (0.85 for 3 labels, 0.90 for concern-vs-none), and a second model given is
measured on the same mail in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from service.detector.detect import Thresholds
from service.detector.model import DEFAULT_MODEL, DetectorModel, load_model
from service.detector.training.datasets import Example, read_user_file
from service.detector.training.evaluate import evaluate_model

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "de", "es", "fr", "it", "nl", "pt")
SETS = ("heldout", "fresh-heldout", "threads-heldout")


def figures(model: DetectorModel, examples: list[Example]) -> tuple[float, float]:
    """(3-label macro-F1, concern-vs-none F1) of `model` on `examples`, decided as `followup eval` decides."""
    scores = {s.label: s for s in evaluate_model(model, examples, "held out", Thresholds())}
    concern = scores["concern"]
    # concern's macro-F1 is the mean of its yes and no classes' F1: "no" is the none label
    none = 2 * concern.macro_f1 - concern.f1
    return (scores["complaint"].f1 + scores["anxiety"].f1 + none) / 3, concern.f1


def held_out_files(lang: str) -> dict[str, Path]:
    """The language's two held-out sets; English keeps its first one as `client_emails/test.jsonl`."""
    if lang == "en":
        folder = ROOT / "data/client_emails"
        return {"heldout": folder / "test.jsonl", "fresh-heldout": folder / "fresh-heldout.jsonl",
                "threads-heldout": folder / "threads-heldout.jsonl"}
    folder = ROOT / "data/client_emails_i18n" / lang
    return {name: folder / f"{name}.jsonl" for name in SETS}


def main(paths: list[str]) -> None:
    for path in paths or [str(DEFAULT_MODEL)]:
        model = load_model(Path(path))
        print(f"model {path}")
        print(f"{'':4}" + "".join(f"{name:>27}   " for name in (*SETS, "pooled")))
        print(f"{'':4}" + "   n  3 labels  concern    " * (len(SETS) + 1))
        means: dict[str, list[float]] = {}
        for lang in LANGUAGES:
            found = {name: read_user_file(file) for name, file in held_out_files(lang).items() if file.is_file()}
            if len(found) == len(SETS):
                found["pooled"] = [e for examples in found.values() for e in examples]
            row = f"{lang:4}"
            for name, examples in found.items():
                three, concern = figures(model, examples)
                if lang != "en":  # the mean is the six other languages', as the issue's targets are
                    means.setdefault(name, []).append(three)
                row += f"{len(examples):>8}{three:>10.3f}{concern:>9.3f}   "
            print(row.rstrip())
        print("mean" + "".join(f"{'':8}{np.mean(v):>10.3f}{'':12}" for v in means.values()) + "   (en left out)")
        print("target: 3 labels >= 0.85, concern >= 0.90 in every language")


if __name__ == "__main__":
    main(sys.argv[1:])
