"""The TF-IDF readers at run time: vocabularies and weights in plain arrays, scored with NumPy alone.

`followup train` fits scikit-learn objects; `export` copies what scoring needs
out of them (vocabulary, idf, coefficients) and `save`/`load` keep it in an
`.npz` file read with `allow_pickle=False`. The service then never imports
scikit-learn or SciPy (about 120 MB of a worker's memory) and never unpickles
its model. The analysers repeat scikit-learn's `word` and `char_wb` n-grams
exactly; tests/unit/test_linear.py holds the two to the same scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Words whose n-gram columns are remembered per model, at about 0.4 KB each (a Python list of
# ints): at 100,000 a full cache was 37 MB of each process that scores, at this bound 8 MB.
# Everyday words come back within a few messages, so a smaller cache barely misses.
WORD_CACHE_MAX = 20_000
# scikit-learn's default token_pattern, the one `make_vectorizer` uses
_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
# TfidfVectorizer settings the run-time scorer reproduces; any other value is refused at export
_EXPECTED = {"lowercase": False, "preprocessor": None, "tokenizer": None, "stop_words": None,
             "strip_accents": None, "norm": "l2", "use_idf": True, "sublinear_tf": True, "binary": False,
             "token_pattern": r"(?u)\b\w\w+\b"}


class ExportError(ValueError):
    """The fitted model uses a setting the run-time scorer does not reproduce."""


@dataclass(frozen=True)
class Features:
    """A batch of sparse rows in coordinate form: row, column and value of every non-zero."""

    n: int
    rows: IntArray
    cols: IntArray
    vals: FloatArray


@dataclass(frozen=True)
class Block:
    """One TF-IDF vectoriser: its analyser, vocabulary and idf, placed at `offset` in the union."""

    analyzer: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    vocabulary: dict[str, int]
    idf: FloatArray
    offset: int
    # char_wb n-grams never cross words: a word's columns, once found, serve every later text
    _word_cache: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def grams(self, text: str) -> list[str]:
        """The n-grams scikit-learn's analyser of the same kind makes of `text`."""
        if self.analyzer == "word":
            low, high = self.ngram_range
            tokens = _TOKEN_RE.findall(text)
            grams = list(tokens) if low == 1 else []
            for n in range(max(low, 2), min(high, len(tokens)) + 1):
                grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
            return grams
        return [g for word in text.split() for g in self._word_grams(word)]

    def _word_grams(self, word: str) -> list[str]:
        low, high = self.ngram_range
        padded = f" {word} "
        grams: list[str] = []
        for n in range(low, high + 1):
            if len(padded) <= n:  # a short word counts once, whole
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
        return grams

    def _columns(self, text: str) -> list[int]:
        get = self.vocabulary.get
        if self.analyzer == "word":
            return [i for i in map(get, self.grams(text)) if i is not None]
        cache = self._word_cache
        if len(cache) >= WORD_CACHE_MAX:  # a stream of unique tokens (numbers, names) must not grow it forever
            cache.clear()
        found: list[int] = []
        for word in text.split():
            columns = cache.get(word)
            if columns is None:
                columns = cache[word] = [i for i in map(get, self._word_grams(word)) if i is not None]
            found.extend(columns)
        return found

    def transform(self, texts: list[str]) -> Features:
        """Sublinear tf times idf, each row scaled to unit length, as TfidfVectorizer does."""
        rows: list[int] = []
        cols: list[int] = []
        for r, text in enumerate(texts):
            found = self._columns(text)
            cols.extend(found)
            rows.extend([r] * len(found))
        width = len(self.idf)
        keys, counts = np.unique(np.asarray(rows, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64),
                                 return_counts=True)
        row, col = np.divmod(keys, width)
        vals = (1.0 + np.log(counts)) * self.idf[col]
        norms = np.sqrt(np.bincount(row, weights=vals * vals, minlength=len(texts)))
        vals = vals / norms[row]
        return Features(len(texts), row, col + self.offset, vals)


@dataclass(frozen=True)
class Vectorizer:
    """The union of blocks (words, then characters): the same columns as the FeatureUnion it came from."""

    blocks: tuple[Block, ...]

    def transform(self, texts: list[str]) -> Features:
        parts = [block.transform(texts) for block in self.blocks]
        return Features(len(texts), np.concatenate([p.rows for p in parts]),
                        np.concatenate([p.cols for p in parts]), np.concatenate([p.vals for p in parts]))


@dataclass(frozen=True)
class Head:
    """A logistic-regression head: P(label) = sigmoid(x . coef + intercept)."""

    coef: FloatArray
    intercept: float

    def predict_proba(self, features: Features) -> FloatArray:
        """Two columns, P(no) and P(yes), like scikit-learn's."""
        z = np.bincount(features.rows, weights=features.vals * self.coef[features.cols],
                        minlength=features.n) + self.intercept
        yes = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - yes, yes])


def export_vectorizer(union: Any) -> Vectorizer:
    """The run-time copy of a fitted FeatureUnion of TfidfVectorizers (or of one TfidfVectorizer)."""
    parts = [v for _, v in union.transformer_list] if hasattr(union, "transformer_list") else [union]
    blocks = []
    offset = 0
    for vec in parts:
        params = vec.get_params()
        wrong = {k: params.get(k) for k, v in _EXPECTED.items() if params.get(k) != v}
        if vec.analyzer not in ("word", "char_wb") or wrong:
            raise ExportError(f"cannot export a vectoriser with analyzer={vec.analyzer!r} {wrong}")
        vocabulary = {str(term): int(i) for term, i in vec.vocabulary_.items()}
        blocks.append(Block(vec.analyzer, tuple(vec.ngram_range), vocabulary,
                            np.asarray(vec.idf_, dtype=np.float64), offset))
        offset += len(vocabulary)
    return Vectorizer(tuple(blocks))


def export_head(classifier: Any) -> Head:
    """The run-time copy of a fitted binary LogisticRegression."""
    if list(classifier.classes_) != [0, 1]:
        raise ExportError(f"expected classes [0, 1], got {list(classifier.classes_)}")
    return Head(np.asarray(classifier.coef_[0], dtype=np.float64), float(classifier.intercept_[0]))


EMBEDDINGS = -1  # the "vectoriser" of a reader of sentence embeddings


def save(path: Path, vectorizers: list[Vectorizer], readers: list[tuple[int, float, dict[str, Head]]],
         meta: dict[str, Any]) -> None:
    """Write readers (vectoriser index, weight, heads) and meta to one `.npz` file.

    Vectoriser index EMBEDDINGS marks a reader of MiniLM sentence embeddings
    (service/detector/transformer.py), whose heads are dense.
    """
    arrays: dict[str, npt.NDArray[Any]] = {}
    layout: dict[str, Any] = {"vectorizers": [], "readers": []}
    for v, vec in enumerate(vectorizers):
        blocks = []
        for b, block in enumerate(vec.blocks):
            # n-grams never hold a newline (both analysers split on whitespace), so one can join them
            terms = sorted(block.vocabulary, key=block.vocabulary.__getitem__)
            arrays[f"v{v}b{b}_terms"] = np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)
            arrays[f"v{v}b{b}_idf"] = block.idf
            blocks.append({"analyzer": block.analyzer, "ngram_range": list(block.ngram_range)})
        layout["vectorizers"].append(blocks)
    for r, (v, weight, heads) in enumerate(readers):
        for label, head in heads.items():
            arrays[f"r{r}_{label}"] = np.append(head.coef, head.intercept)
        layout["readers"].append({"vectorizer": v, "weight": weight, "labels": list(heads)})
    header = json.dumps({"layout": layout, "meta": meta}, sort_keys=True).encode()
    arrays["header"] = np.frombuffer(header, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez_compressed(out, allow_pickle=False, **arrays)


def load(path: Path) -> tuple[list[Vectorizer], list[tuple[int, float, dict[str, Head]]], dict[str, Any]]:
    """Read what `save` wrote; no pickles are involved."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(data["header"].tobytes())
        vectorizers = []
        for v, blocks in enumerate(header["layout"]["vectorizers"]):
            parts = []
            offset = 0
            for b, spec in enumerate(blocks):
                terms = data[f"v{v}b{b}_terms"].tobytes().decode("utf-8").split("\n")
                vocabulary = {term: i for i, term in enumerate(terms)}
                low, high = spec["ngram_range"]
                parts.append(Block(spec["analyzer"], (low, high), vocabulary,
                                   data[f"v{v}b{b}_idf"].astype(np.float64), offset))
                offset += len(vocabulary)
            vectorizers.append(Vectorizer(tuple(parts)))
        readers = []
        for r, spec in enumerate(header["layout"]["readers"]):
            heads = {}
            for label in spec["labels"]:
                weights = data[f"r{r}_{label}"].astype(np.float64)
                heads[label] = Head(weights[:-1], float(weights[-1]))
            readers.append((int(spec["vectorizer"]), float(spec["weight"]), heads))
    return vectorizers, readers, dict(header["meta"])
