"""Thresholds are chosen on scores for writers the fold's model never read."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from service.detector.training import train as training
from service.detector.training.datasets import Example

_LINES = (("the invoice was wrong again and nobody answers, refund me now", 1, 0),
          ("I am really worried that the payroll run will fail on Friday", 0, 1),
          ("thanks a lot, see you at the meeting on Tuesday afternoon", 0, 0))


def _mail(files: int, per_file: int = 3) -> list[Example]:
    return [Example(f"{text} (file {f}, copy {n})", complaint, anxiety, f"writer{f}.jsonl")
            for f in range(files) for n in range(per_file) for text, complaint, anxiety in _LINES]


def _folds(monkeypatch: pytest.MonkeyPatch, mail: list[Example]) -> list[tuple[set[str], set[str]]]:
    """(files trained on, files scored) for every fold `tune_thresholds` fits."""
    folds: list[tuple[set[str], set[str]]] = []
    file_of = {e.text: e.source for e in mail}

    class Fold:  # scores nothing, remembers what it was trained on and asked to score
        def __init__(self, examples: Sequence[Example]) -> None:
            self.trained = {e.source for e in examples}

        def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
            folds.append((self.trained, {file_of[t] for t in texts}))
            return {label: np.full(len(texts), 0.5) for label in training.LABELS}

    monkeypatch.setattr(training, "fit", lambda examples, cfg=None, labels=None: Fold(examples))
    training.tune_thresholds(mail, None, training.LABELS, folds=5)
    return folds


def test_a_fold_scores_only_files_it_did_not_train_on(monkeypatch: pytest.MonkeyPatch) -> None:
    folds = _folds(monkeypatch, _mail(files=training.WRITER_MIN_FILES + 5))
    assert len(folds) == 5
    for trained, scored in folds:
        assert scored and not trained & scored
    assert set().union(*(scored for _, scored in folds)) == {f"writer{f}.jsonl" for f in range(25)}


def test_few_files_are_split_by_email(monkeypatch: pytest.MonkeyPatch) -> None:
    # one user's file (or a few) has no writers to hold out: its emails are the unit, as before
    folds = _folds(monkeypatch, _mail(files=2, per_file=10))
    assert len(folds) == 5
    assert all(trained & scored for trained, scored in folds)
