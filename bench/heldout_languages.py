"""Held-out figures per language: the first held-out set, the fresh one, and both pooled.

    python bench/heldout_languages.py [MODEL ...]    (default: the shipped model)

For each of the six languages besides English: 3-label macro-F1 (complaint, anxiety and none, where
none is a message with neither label) and concern-vs-none F1, with the thresholds the service uses
(a language's own where the model has them). Quality, not speed: the issue's targets are printed
beside the figures (0.85 for 3 labels, 0.90 for concern-vs-none), and a second model given is
measured on the same mail in the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from service.detector.language import identify
from service.detector.model import DEFAULT_MODEL, DetectorModel, load_model
from service.detector.training.datasets import Example, read_user_file

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("de", "es", "fr", "it", "nl", "pt")
SETS = ("heldout", "fresh-heldout")


def figures(model: DetectorModel, examples: list[Example]) -> tuple[float, float]:
    """(3-label macro-F1, concern-vs-none F1) of `model` on `examples`."""
    probs = model.probabilities([e.text for e in examples])
    langs = [identify(e.text).code for e in examples]
    said = {label: np.array([probs[label][i] >= model.threshold(label, lang) for i, lang in enumerate(langs)])
            for label in ("complaint", "anxiety")}
    truth = {label: np.array([int(e.label(label) or 0) for e in examples]) for label in ("complaint", "anxiety")}
    concern, flagged = truth["complaint"] | truth["anxiety"], said["complaint"] | said["anxiety"]
    per_label = [f1_score(truth[label], said[label]) for label in truth]
    none = f1_score(1 - concern, ~flagged)
    return float(np.mean([*per_label, none])), float(f1_score(concern, flagged))


def main(paths: list[str]) -> None:
    for path in paths or [str(DEFAULT_MODEL)]:
        model = load_model(Path(path))
        print(f"model {path}")
        print(f"{'':4}" + "".join(f"{name:>27}   " for name in (*SETS, "pooled")))
        print(f"{'':4}" + "   n  3 labels  concern    " * 3)
        means: dict[str, list[float]] = {}
        for lang in LANGUAGES:
            found = {name: read_user_file(ROOT / "data/client_emails_i18n" / lang / f"{name}.jsonl")
                     for name in SETS if (ROOT / "data/client_emails_i18n" / lang / f"{name}.jsonl").is_file()}
            if len(found) == len(SETS):
                found["pooled"] = [e for examples in found.values() for e in examples]
            row = f"{lang:4}"
            for name, examples in found.items():
                three, concern = figures(model, examples)
                means.setdefault(name, []).append(three)
                row += f"{len(examples):>8}{three:>10.3f}{concern:>9.3f}   "
            print(row.rstrip())
        print("mean" + "".join(f"{'':8}{np.mean(v):>10.3f}{'':12}" for v in means.values()))
        print("target: 3 labels >= 0.85, concern >= 0.90 in every language")


if __name__ == "__main__":
    main(sys.argv[1:])
