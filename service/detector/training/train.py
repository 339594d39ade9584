"""`followup train`: fit the detector on labelled text, reproducibly (fixed seeds, sorted input)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

from service.detector.language import identify
from service.detector.model import LABELS, DetectorModel, Reader, normalise
from service.detector.training import vocabulary
from service.detector.training.datasets import POSTS, Example

SEED = 20261121


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults are what the shipped model uses."""

    word_features: int = 60_000
    char_features: int = 120_000
    c: float = 3.0
    # the client-mail reader: fewer, sharper features learned from few examples
    domain_c: float = 3.0
    domain_word_features: int = 20_000
    domain_char_features: int = 40_000
    # in the general reader, one hand-labelled client email counts for many Reddit comments
    domain_weight_in_general: float = 40.0
    # how much the client-mail reader counts against the general one
    domain_share: float = 0.7
    # of each analyser's features, the share first given to client mail's most frequent terms
    # (vocabulary.py); 0 chooses by frequency over all text, as models before issue 19's third pass did
    domain_vocabulary_share: float = 0.3
    general_sources: tuple[str, ...] = ("goemotions",)
    # public posts to companies (`followup train --posts`) count for this much of a client email in the
    # general reader (the client-mail reader never reads them): they teach the short public register, and
    # must not outvote the mail the service reads
    posts_weight: float = 0.5
    shared_vectorizer: bool = True
    # the optional fine-tuned MiniLM reader (the `transformer` extra) and its share of the vote
    transformer: bool = False
    transformer_share: float = 0.5
    # fine-tuning on all of GoEmotions would take hours on a CPU: a stratified sample of it
    transformer_general_rows: int = 6000
    # Reddit posts run to ~100 words; tweets and most client mail fit in far fewer
    transformer_max_tokens: int = 128
    # the optional frozen-MiniLM reader (`--embeddings`, the `transformer` extra): an equal vote
    # with the TF-IDF readers; its C and the weight of client mail chosen by 5-fold CV on client
    # mail alone (bench/RESULTS.md)
    embeddings: bool = False
    embedding_share: float = 0.5
    embedding_c: float = 0.3
    embedding_domain_weight: float = 40.0
    # a frozen encoder embeds each text once, so all of GoEmotions is affordable (None: all)
    embedding_general_rows: int | None = None
    embedding_max_tokens: int = 256


def make_vectorizer(words: int, chars: int) -> FeatureUnion:
    """Word 1-2 and character 2-5 gram TF-IDF over text that `normalise` has already prepared."""
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, lowercase=False,
                                  max_features=words, dtype=np.float32)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                  lowercase=False, max_features=chars, dtype=np.float32)),
    ])


def _is_general(example: Example, cfg: TrainConfig) -> bool:
    return example.source.startswith(cfg.general_sources)


def _is_post(example: Example) -> bool:
    return example.source.startswith(POSTS)


def _stable_order(examples: Sequence[Example]) -> list[Example]:
    # the same data in any file order gives the same model
    return sorted(examples, key=lambda e: (hashlib.sha256(e.text.encode("utf-8", "replace")).hexdigest(),
                                           e.source, e.complaint or 0, e.anxiety or 0))


def _reader(data: list[Example], labels: Sequence[str], *, words: int, chars: int, c: float,
            weight_of: dict[int, float], share: float,
            fitted: tuple[Any, Any] | None = None) -> tuple[Reader, dict[str, dict[str, int]]]:
    if fitted is None:
        vectorizer = make_vectorizer(words, chars)
        features = vectorizer.fit_transform([normalise(e.text) for e in data])
    else:
        vectorizer, features = fitted
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


def _domain_rows(data: list[Example], cfg: TrainConfig) -> list[int]:
    return [i for i, e in enumerate(data) if not _is_general(e, cfg)]


def train(examples: Sequence[Example], cfg: TrainConfig | None = None,
          labels: Sequence[str] = LABELS, *, tune_folds: int = 5) -> DetectorModel:
    """Fit the readers, then choose each label's threshold by cross-validation (`tune_folds` > 1)."""
    model = fit(examples, cfg, labels)
    if cfg is not None and cfg.transformer:
        # tuning would fine-tune `tune_folds` more times; the sigmoid outputs are balanced at 0.5
        model.meta["thresholds"] = dict.fromkeys(labels, 0.5)
    elif tune_folds > 1:
        model.meta["thresholds"], by_lang = tune_thresholds(examples, cfg, labels, folds=tune_folds)
        if by_lang:
            model.meta["thresholds_by_lang"] = by_lang
    return model


# the out-of-fold F1 a threshold may give up to the best one to be chosen for being lower (recall first)
THRESHOLD_TOLERANCE = 0.005
# a language's own thresholds are chosen only from this much of its client mail, with this many of each label
LANGUAGE_MIN_EXAMPLES = 150
LANGUAGE_MIN_POSITIVES = 25


def tune_thresholds(examples: Sequence[Example], cfg: TrainConfig | None, labels: Sequence[str],
                    *, folds: int = 5) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Per label, the threshold with the best out-of-fold F1 on the examples that matter most; and the
    same for each language with enough of them (`LANGUAGE_MIN_EXAMPLES`).

    With client mail among the data, that is the client mail (GoEmotions stays in every
    training fold); otherwise all of it. One fit per fold serves every label. A language's own
    thresholds come from the same out-of-fold scores: one model reads every language, but its scores
    are not equally sure in each; a language's threshold is never above the one for all.
    """
    cfg = cfg or TrainConfig()
    data = _stable_order(examples)
    target = [i for i, e in enumerate(data) if not _is_general(e, cfg)] or list(range(len(data)))
    in_target = set(target)
    background = [data[i] for i in range(len(data)) if i not in in_target]
    strata = np.array([sum((2 ** k) * int(data[i].label(lab) or 0) for k, lab in enumerate(labels))
                       for i in target])
    if np.bincount(strata).min(initial=0) < folds and len(set(strata.tolist())) > 1:
        strata = np.array([int(data[i].label(labels[0]) or 0) for i in target])
    probs = {label: np.full(len(target), np.nan) for label in labels}
    try:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=SEED).split(target, strata))
    except ValueError:  # too few examples of a class to tune: keep 0.5
        return dict.fromkeys(labels, 0.5), {}
    for train_idx, test_idx in splits:
        fold = fit(background + [data[target[k]] for k in train_idx], cfg, labels)
        found = fold.probabilities([data[target[k]].text for k in test_idx])
        for label in labels:
            probs[label][test_idx] = found[label]
    # thresholds are chosen on client mail alone, what the service reads: posts (`--posts`) are in the
    # folds, to be learned from as in the final model, but not among the rows that choose (unless they are
    # all there is)
    rows = {label: [k for k, i in enumerate(target) if data[i].label(label) is not None] for label in labels}
    rows = {label: [k for k in known if not _is_post(data[target[k]])] or known for label, known in rows.items()}
    out = {label: _best_threshold(data, target, probs[label], rows[label], label) for label in labels}
    by_lang: dict[str, dict[str, float]] = {}
    langs = [identify(data[i].text).code for i in target]
    for lang in sorted({code for code in langs if code}):
        mine = {label: [k for k in rows[label] if langs[k] == lang] for label in labels}
        enough = all(len(mine[label]) >= LANGUAGE_MIN_EXAMPLES and
                     sum(int(data[target[k]].label(label) or 0) for k in mine[label]) >= LANGUAGE_MIN_POSITIVES
                     for label in labels)
        if enough:
            # a language may lower the bar where its scores run low, never raise it: when in doubt,
            # a concern is filed and the owner sees it (held-out mail scored the same either way, bench/RESULTS.md)
            by_lang[lang] = {label: min(out[label], _best_threshold(data, target, probs[label], mine[label], label))
                             for label in labels}
    return out, by_lang


def _best_threshold(data: list[Example], target: list[int], probs: np.ndarray, rows: list[int], label: str) -> float:
    """The lowest threshold within `THRESHOLD_TOLERANCE` of the best F1 of `label` on these rows' out-of-fold scores."""
    grid = np.arange(0.1, 0.91, 0.025)
    y = np.array([int(data[target[k]].label(label) or 0) for k in rows])
    p = probs[rows]
    scores = np.array([f1_score(y, (p >= t).astype(int), zero_division=0) for t in grid])
    # a plateau, not a lucky spike: F1 averaged with its neighbours
    smooth = np.convolve(np.pad(scores, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    # and its low end: out-of-fold F1 is flat for 0.05-0.1 below its best, and where thresholds score
    # alike the lower files the doubtful concern instead of dropping it
    return round(float(grid[int(np.argmax(smooth >= smooth.max() - THRESHOLD_TOLERANCE))]), 3)


def fit(examples: Sequence[Example], cfg: TrainConfig | None = None,
        labels: Sequence[str] = LABELS) -> DetectorModel:
    """Fit a general reader on every example and, when there is client mail, a reader of it alone."""
    cfg = cfg or TrainConfig()
    data = _stable_order(examples)
    if not data:
        raise ValueError("no training examples")
    domain = [e for e in data if not _is_general(e, cfg)]
    mixed = len(domain) not in (0, len(data))
    # posts (`--posts`) count for `posts_weight` of a client email in the general reader, and stay out of the
    # client-mail reader, which reads client mail alone
    weight_of = {i: (cfg.domain_weight_in_general if mixed else 1.0) * (cfg.posts_weight if _is_post(e) else 1.0)
                 for i, e in enumerate(data) if (mixed or _is_post(e)) and not _is_general(e, cfg)}
    mail = [i for i in _domain_rows(data, cfg) if not _is_post(data[i])]
    shared = None
    if mixed and mail and cfg.domain_vocabulary_share > 0:
        # the vocabulary's reserved share is client mail's: English posts would crowd out "preoccupato" as
        # GoEmotions would
        texts = [normalise(e.text) for e in data]
        shared = vocabulary.fit_union(texts, [texts[i] for i in mail],
                                      words=cfg.word_features, chars=cfg.char_features,
                                      domain_share=cfg.domain_vocabulary_share)
    general, counts = _reader(data, labels, words=cfg.word_features, chars=cfg.char_features, c=cfg.c,
                              weight_of=weight_of, share=1.0 - cfg.domain_share if mixed else 1.0,
                              fitted=shared)
    readers = [general]
    if mixed and mail:
        fitted = None
        if cfg.shared_vectorizer:
            # the client-mail reader reads the general reader's features: one vectoriser pass at run time
            fitted = (general.vectorizer, general.vectorizer.transform([normalise(data[i].text) for i in mail]))
        client, _ = _reader([data[i] for i in mail], labels, words=cfg.domain_word_features,
                            chars=cfg.domain_char_features, c=cfg.domain_c, weight_of={},
                            share=cfg.domain_share, fitted=fitted)
        readers.append(client)
    if cfg.embeddings:
        readers.append(_embedding_reader(data, labels, cfg))
        for reader in readers[:-1]:
            reader.weight *= 1.0 - cfg.embedding_share
    if cfg.transformer:
        readers.append(_transformer_reader(data, labels, cfg))
        for reader in readers[:-1]:
            reader.weight *= 1.0 - cfg.transformer_share
    sources: dict[str, int] = {}
    for e in data:
        sources[e.source] = sources.get(e.source, 0) + 1
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}
    return DetectorModel(readers, {"counts": counts, "sources": sources, "config": config})


def _general_sample(data: list[Example], labels: Sequence[str], cfg: TrainConfig,
                    rows: int | None) -> list[Example]:
    """At most `rows` general examples: every positive there is room for, filled with negatives."""
    general = [e for e in data if _is_general(e, cfg)]
    if rows is None or len(general) <= rows:
        return general
    # the labels are rare in GoEmotions: a plain sample would hold few positives
    rng = np.random.default_rng(SEED)
    positive = [e for e in general if any(e.label(lab) for lab in labels)]
    negative = [e for e in general if not any(e.label(lab) for lab in labels)]
    pick_pos = rng.permutation(len(positive))[:rows // 2]
    pick_neg = rng.permutation(len(negative))[:rows - len(pick_pos)]
    return [positive[i] for i in pick_pos] + [negative[i] for i in pick_neg]


def _targets(rows: Sequence[Example], labels: Sequence[str]) -> np.ndarray:
    return np.array([[-1 if e.label(lab) is None else int(e.label(lab) or 0) for lab in labels] for e in rows])


def _embedding_reader(data: list[Example], labels: Sequence[str], cfg: TrainConfig) -> Any:
    from service.detector.transformer import EmbeddingReader

    general = _general_sample(data, labels, cfg, cfg.embedding_general_rows)
    domain = [e for e in data if not _is_general(e, cfg)]
    rows = general + domain
    weights = np.array([1.0] * len(general) + [cfg.embedding_domain_weight if general else 1.0] * len(domain))
    return EmbeddingReader.fit([e.text for e in rows], _targets(rows, labels), labels, sample_weight=weights,
                               c=cfg.embedding_c, weight=cfg.embedding_share,
                               max_tokens=cfg.embedding_max_tokens, seed=SEED)


def _transformer_reader(data: list[Example], labels: Sequence[str], cfg: TrainConfig) -> Any:
    from service.detector.transformer import FineTune, TransformerReader

    rows = _general_sample(data, labels, cfg, cfg.transformer_general_rows)
    rows += [e for e in data if not _is_general(e, cfg)]
    tune = FineTune(max_tokens=cfg.transformer_max_tokens)
    return TransformerReader(tuple(labels), cfg.transformer_share, tune).fit([e.text for e in rows],
                                                                            _targets(rows, labels))
