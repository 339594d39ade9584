"""`followup train`: fit the detector on labelled text, reproducibly (fixed seeds, sorted input)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from service.datasets import Example
from service.model import LABELS, DetectorModel, Reader

SEED = 20261121


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults are what the shipped model uses."""

    word_features: int = 60_000
    char_features: int = 120_000
    c: float = 1.0
    # the client-mail reader: fewer, sharper features learned from few examples
    domain_c: float = 10.0
    domain_word_features: int = 20_000
    domain_char_features: int = 40_000
    # in the general reader, one hand-labelled client email counts for many Reddit comments
    domain_weight_in_general: float = 40.0
    # how much the client-mail reader counts against the general one
    domain_share: float = 0.7
    general_sources: tuple[str, ...] = ("goemotions",)


def make_vectorizer(words: int, chars: int) -> FeatureUnion:
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                  max_features=words, dtype=np.float32)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                  max_features=chars, dtype=np.float32)),
    ])


def _is_general(example: Example, cfg: TrainConfig) -> bool:
    return example.source.startswith(cfg.general_sources)


def _stable_order(examples: Sequence[Example]) -> list[Example]:
    # the same data in any file order gives the same model
    return sorted(examples, key=lambda e: (hashlib.sha256(e.text.encode("utf-8", "replace")).hexdigest(),
                                           e.source, e.complaint or 0, e.anxiety or 0))


def _reader(data: list[Example], labels: Sequence[str], *, words: int, chars: int, c: float,
            weight_of: dict[int, float], share: float) -> tuple[Reader, dict[str, dict[str, int]]]:
    vectorizer = make_vectorizer(words, chars)
    features = vectorizer.fit_transform([e.text for e in data])
    heads = {}
    counts = {}
    for label in labels:
        rows = [i for i, e in enumerate(data) if e.label(label) is not None]
        y = np.array([data[i].label(label) for i in rows])
        if len(set(y.tolist())) < 2:
            raise ValueError(f"{label}: training data needs both positive and negative examples")
        weights = np.array([weight_of.get(i, 1.0) for i in rows])
        head = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=SEED)
        head.fit(features[rows], y, sample_weight=weights)
        heads[label] = head
        counts[label] = {"examples": len(rows), "positive": int(y.sum())}
    return Reader(vectorizer, heads, share), counts


def train(examples: Sequence[Example], cfg: TrainConfig | None = None,
          labels: Sequence[str] = LABELS) -> DetectorModel:
    """Fit a general reader on every example and, when there is client mail, a reader of it alone."""
    cfg = cfg or TrainConfig()
    data = _stable_order(examples)
    if not data:
        raise ValueError("no training examples")
    domain = [e for e in data if not _is_general(e, cfg)]
    mixed = len(domain) not in (0, len(data))
    weight_of = {i: cfg.domain_weight_in_general
                 for i, e in enumerate(data) if mixed and not _is_general(e, cfg)}
    general, counts = _reader(data, labels, words=cfg.word_features, chars=cfg.char_features, c=cfg.c,
                              weight_of=weight_of, share=1.0 - cfg.domain_share if mixed else 1.0)
    readers = [general]
    if mixed:
        client, _ = _reader(domain, labels, words=cfg.domain_word_features, chars=cfg.domain_char_features,
                            c=cfg.domain_c, weight_of={}, share=cfg.domain_share)
        readers.append(client)
    sources: dict[str, int] = {}
    for e in data:
        sources[e.source] = sources.get(e.source, 0) + 1
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}
    return DetectorModel(readers, {"counts": counts, "sources": sources, "config": config})
