"""The NumPy scorer of `.npz` models against the scikit-learn objects it was exported from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.detector import linear
from service.detector.model import DetectorModel, ModelError, load_model, normalise
from service.detector.training.datasets import read_any
from service.detector.training.train import TrainConfig, make_vectorizer, train

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "data" / "client_emails"
# short.jsonl stands in for GoEmotions as the "general" data, so both readers are built
SMALL = TrainConfig(word_features=5000, char_features=10000, domain_word_features=2000,
                    domain_char_features=4000, general_sources=("short",))
ODD = ["", " ", "a", "I", "ok", "é", "Ünïcödé wörds ßtraße", "don't!!! NOT worried...", "x" * 300,
       "line\nbreaks\tand  double  spaces", "@handle https://x.example/a?b=1 mail@x.example", "😀 🙃 ✉"]


@pytest.fixture(scope="module")
def fitted() -> DetectorModel:
    examples = read_any(str(CLIENT / "train.jsonl")) + read_any(str(CLIENT / "short.jsonl"))
    return train(examples, SMALL, tune_folds=0)


def _texts() -> list[str]:
    rows = [json.loads(line) for line in (CLIENT / "more.jsonl").read_text().splitlines() if line.strip()]
    return [r.get("text") or f"{r.get('subject', '')}\n\n{r.get('body', '')}" for r in rows][:200] + ODD


def test_npz_scores_equal_the_scikit_learn_model(fitted: DetectorModel, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    fitted.save(path)
    compact = DetectorModel.from_arrays(path)
    assert all(isinstance(r.vectorizer, linear.Vectorizer) for r in compact.readers)
    # the two readers share one vectoriser, and so one pass per batch, as before export
    assert compact.readers[0].vectorizer is compact.readers[1].vectorizer
    texts = _texts()
    want, got = fitted.probabilities(texts), compact.probabilities(texts)
    for label in want:
        assert np.abs(want[label] - got[label]).max() < 1e-5, label
    assert compact.meta["counts"] == fitted.meta["counts"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_analysers_make_scikit_learns_ngrams(text: str) -> None:
    union = make_vectorizer(100, 100)
    for (_, sk), block in zip(union.transformer_list, _blocks(), strict=True):
        assert block.grams(normalise(text)) == sk.build_analyzer()(normalise(text))


def _blocks() -> tuple[linear.Block, ...]:
    return (linear.Block("word", (1, 2), {}, np.zeros(0), 0), linear.Block("char_wb", (2, 5), {}, np.zeros(0), 0))


def test_the_word_cache_does_not_change_scores(fitted: DetectorModel, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m.npz")
    compact = DetectorModel.from_arrays(tmp_path / "m.npz")
    texts = _texts()[:50]
    first = compact.probabilities(texts)["complaint"]
    again = compact.probabilities(list(reversed(texts)))["complaint"][::-1]
    assert np.allclose(first, again)


def test_the_word_cache_stays_bounded(fitted: DetectorModel, tmp_path: Path) -> None:
    fitted.save(tmp_path / "m.npz")
    compact = DetectorModel.from_arrays(tmp_path / "m.npz")
    words = [f"w{n}x" for n in range(linear.WORD_CACHE_MAX + 500)]
    for start in range(0, len(words), 1000):
        compact.probabilities([" ".join(words[start:start + 1000])])
    blocks = [b for r in compact.readers for b in r.vectorizer.blocks if b.analyzer == "char_wb"]
    sizes = [len(b._word_cache) for b in blocks]
    assert sizes and all(0 < n <= linear.WORD_CACHE_MAX for n in sizes)


def test_settings_the_scorer_cannot_repeat_are_refused(fitted: DetectorModel) -> None:
    union = make_vectorizer(10, 10)
    union.transformer_list[0][1].set_params(lowercase=True)
    with pytest.raises(linear.ExportError, match="lowercase"):
        linear.export_vectorizer(union)


def test_npz_is_read_without_pickles(tmp_path: Path) -> None:
    # an .npz holding a pickled object array is refused, not executed
    path = tmp_path / "evil.npz"
    np.savez(path, header=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelError, match="followup train"):
        load_model(path)
