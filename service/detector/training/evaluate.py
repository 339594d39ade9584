"""`followup eval`: precision, recall and F1 per label and macro-F1, on each data set apart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from service.detector.detect import Thresholds
from service.detector.language import identify
from service.detector.model import LABELS, DetectorModel
from service.detector.training.datasets import Example, read_complaints, read_dreaddit, read_goemotions, read_user_file
from service.detector.training.train import SEED, TrainConfig, train


@dataclass(frozen=True)
class Score:
    dataset: str
    method: str
    label: str
    n: int
    positives: int
    precision: float
    recall: float
    f1: float
    macro_f1: float  # over the label's two classes (yes/no), as the papers report

    def row(self) -> str:
        return (f"{self.dataset:<22} {self.method:<20} {self.label:<9} {self.n:>6} {self.positives:>6} "
                f"{self.precision:>6.3f} {self.recall:>6.3f} {self.f1:>6.3f} {self.macro_f1:>7.3f}")


HEADER = (f"{'dataset':<22} {'method':<20} {'label':<9} {'n':>6} {'pos':>6} "
          f"{'P':>6} {'R':>6} {'F1':>6} {'macroF1':>7}")


def score(dataset: str, method: str, label: str, truth: Sequence[int], predicted: Sequence[int]) -> Score:
    y, p = np.asarray(truth), np.asarray(predicted)
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, average="binary", zero_division=0)
    return Score(dataset, method, label, len(y), int(y.sum()), float(prec), float(rec), float(f1),
                 float(f1_score(y, p, average="macro", zero_division=0)))


def evaluate_model(model: DetectorModel, examples: Sequence[Example], dataset: str,
                   thresholds: Thresholds, method: str = "shipped model") -> list[Score]:
    """Score a trained model on every label the examples know."""
    out = []
    # each text at its language's thresholds, as the service decides (`detect.detect_many`)
    limits = {e.text: thresholds.resolve(model, identify(e.text).code) for e in examples}
    for label in LABELS:
        known = [e for e in examples if e.label(label) is not None]
        if not known:
            continue
        probs = model.probabilities([e.text for e in known])[label]
        predicted = (probs >= np.array([limits[e.text].of(label) for e in known])).astype(int)
        truth = [int(e.label(label) or 0) for e in known]
        out.append(score(dataset, method, label, truth, predicted.tolist()))
    both = [e for e in examples if all(e.label(label) is not None for label in LABELS)]
    if both:  # a concern of either kind against none: what decides whether a client is acknowledged
        probs_all = model.probabilities([e.text for e in both])
        flagged = np.zeros(len(both), dtype=int)
        for label in LABELS:
            flagged |= (probs_all[label] >= np.array([limits[e.text].of(label) for e in both])).astype(int)
        truth = [int(any(e.label(label) for label in LABELS)) for e in both]
        out.append(score(dataset, method, "concern", truth, flagged.tolist()))
    return out


def _extra(cfg: TrainConfig | None) -> str:
    if cfg is not None and cfg.transformer:
        return " +MiniLM"
    return " +MiniLM emb" if cfg is not None and cfg.embeddings else ""


def cross_validate(examples: Sequence[Example], label: str, dataset: str, *, folds: int = 10,
                   cfg: TrainConfig | None = None) -> Score:
    """k-fold cross-validation of the training command (threshold tuning included) on one data set."""
    data = [e for e in examples if e.label(label) is not None]
    y = np.array([int(e.label(label) or 0) for e in data])
    predicted = np.zeros_like(y)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(data, y):
        model = train([data[i] for i in train_idx], cfg, labels=(label,))
        probs = model.probabilities([data[i].text for i in test_idx])[label]
        predicted[test_idx] = (probs >= model.threshold(label)).astype(int)
    method = f"{folds}-fold CV" + _extra(cfg)
    return score(dataset, method, label, y.tolist(), predicted.tolist())


def train_test(train_set: Sequence[Example], test_set: Sequence[Example], label: str, dataset: str,
               *, cfg: TrainConfig | None = None) -> Score:
    """Train the training command on a data set's train split, score its test split."""
    model = train(train_set, cfg, labels=(label,))
    known = [e for e in test_set if e.label(label) is not None]
    probs = model.probabilities([e.text for e in known])[label]
    method = "trained on its train" + _extra(cfg)
    return score(dataset, method, label, [int(e.label(label) or 0) for e in known],
                 (probs >= model.threshold(label)).astype(int).tolist())


def run_all(model: DetectorModel, shared: Path, client_dir: Path, thresholds: Thresholds,
            *, folds: int = 10, log: bool = True,
            cfg: TrainConfig | None = None) -> tuple[list[Score], list[str]]:
    """Every measurement issue 3 asks for; data sets that are absent are skipped with the reason.

    `cfg` is the training configuration the cross-validation and train/test runs use
    (TrainConfig(transformer=True) measures the optional transformer reader).
    """
    scores: list[Score] = []
    skipped: list[str] = []

    def emit(new: list[Score]) -> None:
        scores.extend(new)
        if log:
            for s in new:
                print(s.row(), flush=True)

    if log:
        print(HEADER)
    complaints = shared / "complaints-social-media" / "complaints-data.csv"
    if complaints.is_file():
        data = read_complaints(complaints)
        emit(evaluate_model(model, data, "complaints (1,974)", thresholds, "shipped (x-domain)"))
        emit([cross_validate(data, "complaint", "complaints (1,974)", folds=folds, cfg=cfg)])
    else:
        skipped.append(f"complaints: {complaints} not found")
    dreaddit = shared / "dreaddit"
    if (dreaddit / "dreaddit-test.csv").is_file():
        test = read_dreaddit(dreaddit / "dreaddit-test.csv")
        emit(evaluate_model(model, test, "dreaddit test", thresholds, "shipped (x-domain)"))
        emit([train_test(read_dreaddit(dreaddit / "dreaddit-train.csv"), test, "anxiety", "dreaddit test",
                         cfg=cfg)])
    else:
        skipped.append(f"dreaddit: {dreaddit} not found")
    goemotions = shared / "goemotions"
    if (goemotions / "test.tsv").is_file():
        emit(evaluate_model(model, read_goemotions(goemotions, "test"), "goemotions test", thresholds))
    else:
        skipped.append(f"goemotions: {goemotions} not found")
    client_test = client_dir / "test.jsonl"
    if client_test.is_file():
        emit(evaluate_model(model, read_user_file(client_test), "client emails (held out)", thresholds))
    else:
        skipped.append(f"client emails: {client_test} not found")
    for held_out in sorted(client_dir.glob("*heldout.jsonl")):  # English mail by writers who read nothing of ours
        emit(evaluate_model(model, read_user_file(held_out), f"client emails en {held_out.stem}", thresholds))
    languages = client_dir.parent / "client_emails_i18n"
    for held_out in sorted(languages.glob("*/*heldout.jsonl")):
        lang = held_out.parent.name
        emit(evaluate_model(model, read_user_file(held_out), f"client emails {lang} {held_out.stem}", thresholds))
    if not languages.is_dir():
        skipped.append(f"client emails in other languages: {languages} not found")
    for reason in skipped:
        if log:
            print(f"skipped {reason}")
    return scores, skipped
