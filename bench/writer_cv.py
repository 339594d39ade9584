"""Cross-writer cross-validation of a training configuration: folds hold out whole files.

    python bench/writer_cv.py [--seed 0] [--set FIELD=VALUE ...] [--chars ANALYZER:LO:HI] [--words LO:HI]

Each file of client mail in the README's training command is one writer's pass in one language;
a fold's model never reads the files it is scored on (5 folds, StratifiedGroupKFold), with
GoEmotions and the posts in every fold, as `followup train` has them. Prints 3-label macro-F1 per
language and their mean, at the thresholds with the best out-of-fold F1 for all. About 3 minutes a
configuration on one core; run the shipped configuration (no option) beside a variant for the baseline.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold

from service.detector.training import train, vocabulary
from service.detector.training.datasets import Example, read_any, read_posts

ROOT = Path(__file__).resolve().parent.parent
LABELS = ("complaint", "anxiety")


def training_files() -> tuple[list[str], list[str]]:
    """The --data and --posts arguments of the README's command that rebuilds the shipped model."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("followup train --data ../shared/data/goemotions --data data/client_emails/train.jsonl")
    command = readme[start:readme.index("```", start)]
    return re.findall(r"--data (\S+)", command), re.findall(r"--posts (\S+)", command)


def language_of(path: str) -> str:
    return path.split("/")[2] if "client_emails_i18n" in path else "en"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="how files are dealt into folds")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a TrainConfig field")
    ap.add_argument("--chars", help="the character analyser, e.g. char:2:5 (shipped: char_wb:2:5)")
    ap.add_argument("--words", help="the word n-gram range, e.g. 1:3 (shipped: 1:2)")
    args = ap.parse_args()
    if args.chars:
        analyzer, low, high = args.chars.split(":")
        vocabulary.ANALYSERS["chars"] = {"analyzer": analyzer, "ngram_range": (int(low), int(high))}
    if args.words:
        low, high = args.words.split(":")
        vocabulary.ANALYSERS["words"] = {"ngram_range": (int(low), int(high))}
    cfg = train.TrainConfig(**{k: ast.literal_eval(v) for k, v in (s.split("=", 1) for s in args.set)})

    datas, posts = training_files()
    background: list[Example] = [e for p in posts for e in read_posts(str(ROOT / p))]
    mail: list[Example] = []
    files: list[str] = []
    for spec in datas:
        examples = read_any(spec if spec.startswith("..") else str(ROOT / spec))
        if not spec.startswith("data/"):
            background += examples  # GoEmotions: in every fold
            continue
        mail += examples
        files += [spec] * len(examples)
    truth = {label: np.array([int(e.label(label) or 0) for e in mail]) for label in LABELS}
    strata = truth["complaint"] + 2 * truth["anxiety"]
    probs = {label: np.zeros(len(mail)) for label in LABELS}
    for fit_rows, test_rows in StratifiedGroupKFold(5, shuffle=True, random_state=args.seed).split(
            mail, strata, files):
        model = train.fit(background + [mail[i] for i in fit_rows], cfg)
        found = model.probabilities([mail[i].text for i in test_rows])
        for label in LABELS:
            probs[label][test_rows] = found[label]

    grid = np.arange(0.1, 0.91, 0.025)
    said = {}
    for label in LABELS:
        best = grid[int(np.argmax([f1_score(truth[label], probs[label] >= t) for t in grid]))]
        said[label] = probs[label] >= best
    langs = np.array([language_of(f) for f in files])
    out: dict[str, float] = {}
    for lang in sorted(set(langs.tolist())):
        rows = langs == lang
        concern = truth["complaint"][rows] | truth["anxiety"][rows]
        flagged = said["complaint"][rows] | said["anxiety"][rows]
        scores = [f1_score(truth[label][rows], said[label][rows]) for label in LABELS]
        out[lang] = round(float(np.mean([*scores, f1_score(1 - concern, ~flagged)])), 3)
    out["mean"] = round(float(np.mean(list(out.values()))), 3)
    print(json.dumps({"options": {"set": args.set, "chars": args.chars, "words": args.words, "seed": args.seed},
                      "3-label macro-F1, writer-held-out folds": out}))


if __name__ == "__main__":
    main()
