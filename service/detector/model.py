"""The learned detector: one shared TF-IDF vectoriser, one logistic-regression head per label.

The artefact is built by `followup train` (service/detector/training/train.py) and loaded once per
process. Scoring is pure: text in, probabilities out. The shipped artefact is an
`.npz` of plain arrays scored by service/detector/linear.py with NumPy alone; a model
holding the optional transformer reader is a pickle (`.joblib`).
"""

from __future__ import annotations

import logging
import re
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from service.detector import linear
from service.detector.courtesy import without_courtesies
from service.detector.glosses import gloss
from service.detector.transformer import INSTALL, EmbeddingReader, available  # torch itself is imported on first use
from service.errors import FollowupError

log = logging.getLogger(__name__)
LABELS = ("complaint", "anxiety")
DEFAULT_MODEL = Path(__file__).with_name("artefacts") / "detector.npz"
# the shipped models by name (FOLLOWUP_DETECTOR): light needs nothing more; minilm, the transformer extra
SHIPPED = {"light": DEFAULT_MODEL, "minilm": DEFAULT_MODEL.with_name("detector-minilm.npz")}
FORMAT = 3


_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_HANDLE_RE = re.compile(r"(?<!\w)@\w+")
# an address: from the start of a whitespace-free token to its last ".word", given an "@" before it (what
# r"\S+@\S+\.\w+" matched, which backtracked: 54 s of CPU on one 99 KB token). Here the start is a token's
# start only, and every repeat is possessive and stops where the next part begins, so no character is read
# twice and nothing backtracks: linear on any input (tests/unit/test_linear_time.py holds both to the same output)
_EMAIL_RE = re.compile(r"(?<!\S)\S[^\s@]*+@\S(?:(?:[^\s.]|\.(?!\w))*+\.\w++)++")
# one spelling for contracted and full forms, so "we'll" learns from "we will" and back
_CONTRACTIONS = {"can't": "cannot", "won't": "will not", "shan't": "shall not", "i'm": "i am",
                 "n't": " not", "'ll": " will", "'re": " are", "'ve": " have", "'d": " would"}
_CONTRACTION_RE = re.compile(r"\b(?:can't|won't|shan't|i'm)\b|(?:n't|'ll|'re|'ve|'d)\b")


# words in a negation's scope get their own features ("not worried" is not "worried"): the
# classic sentiment-analysis marking, up to three words or the end of the clause. The negations of
# every language the detector reads ("no estoy preocupada", "geen zorgen", "keine Sorgen", "pas
# inquiet", "non preoccupato", "não se preocupe"), and words with accents in the scope (model format 3
# read only a-z, so "no está" marked nothing past "est"); English text is marked as before
_NEGATIONS = {
    "en": "not no never nothing nobody without",
    "es": "ni nunca nada nadie sin tampoco jamás",
    "pt": "não nem nenhum nenhuma ninguém sem jamais",
    "it": "non né mai niente nulla nessuno nessuna senza",
    "fr": "pas jamais rien sans aucun aucune",
    "de": "nicht kein keine keinen keinem keiner keines nie niemals nichts ohne",
    "nl": "niet geen nooit niets niemand zonder",
}
_NEGATION_WORDS = sorted({w for words in _NEGATIONS.values() for w in words.split()}, key=lambda w: (-len(w), w))
_NEGATION_RE = re.compile(r"\b(" + "|".join(_NEGATION_WORDS) + r")\b((?:\s+[\w']+){1,3})")
_SCOPE_WORD_RE = re.compile(r"\s+([\w']+)")


def _mark_negation(match: re.Match[str]) -> str:
    return match.group(1) + _SCOPE_WORD_RE.sub(r" not_\1", match.group(2))


def normalise(text: str) -> str:
    """What the vectoriser sees: lower case, links left out, addresses and handles made generic.

    Applied once per text before every vectoriser (model format 3); the
    vectorisers themselves neither lower-case nor preprocess. The greeting and the closing go first
    (`courtesy.py`), and plain words of feeling in the six other languages get their English gloss
    (`glosses.py`).
    """
    text = without_courtesies(text)  # before lower case: a greeting's name is told by its capital
    text = _EMAIL_RE.sub(" emailaddr ", text.lower().replace("\u2019", "'"))
    text = _CONTRACTION_RE.sub(lambda m: _CONTRACTIONS[m.group(0)], text)
    # a link says nothing of how its writer feels, and written mail puts links under calm offers and
    # newsletters: read as a word, it taught the model that a link is calm (an angry phishing mail with two
    # fell to 0.35). Links are not read at all
    text = _URL_RE.sub(" ", text)
    text = _NEGATION_RE.sub(_mark_negation, text)
    text = gloss(text)  # after negation: a negated word is not glossed
    text = _HANDLE_RE.sub(" @handle ", text)
    return text


class ModelError(FollowupError):
    """The detector model cannot be loaded; retrain it with `followup train`."""


@dataclass
class Reader:
    """One vectoriser and a classifier per label, trained on one kind of text."""

    vectorizer: Any
    heads: dict[str, Any]
    weight: float = 1.0

    def probabilities(self, texts: list[str], features: Any = None) -> dict[str, np.ndarray]:
        if features is None:
            features = self.vectorizer.transform([normalise(t) for t in texts])  # one pass for every label
        return {label: head.predict_proba(features)[:, 1] for label, head in self.heads.items()}


@dataclass
class DetectorModel:
    """What `followup train` saves: readers whose probabilities are averaged by weight.

    The shipped model has two: a general reader of emotion (GoEmotions and
    everything else) and a reader of client mail alone, which knows polite,
    factual and business-like complaints and worries that Reddit comments lack.
    """

    readers: list[Any]  # Reader, or service.detector.transformer.TransformerReader
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def heads(self) -> dict[str, Any]:
        heads: dict[str, Any] = self.readers[0].heads
        return heads

    def threshold(self, label: str, lang: str | None = None) -> float:
        """The threshold chosen when the model was trained: the language's own where training had enough of
        its client mail to choose one, else the model's (0.5 if none was)."""
        own = self.meta.get("thresholds_by_lang", {}).get(lang or "", {})
        if label in own:
            return float(own[label])
        return float(self.meta.get("thresholds", {}).get(label, 0.5))

    def probabilities(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Per label, the probability for each text."""
        total: dict[str, np.ndarray] = {}
        weights: dict[str, float] = {}
        features: dict[int, Any] = {}  # readers that share a vectoriser share its (costly) pass
        normalised: list[str] | None = None
        for reader in self.readers:
            vectorizer = getattr(reader, "vectorizer", None)  # the transformer reader has none
            key = id(vectorizer)
            if vectorizer is not None and key not in features:
                normalised = normalised or [normalise(t) for t in texts]
                features[key] = vectorizer.transform(normalised)
            for label, probs in reader.probabilities(texts, features.get(key)).items():
                total[label] = total.get(label, 0) + reader.weight * probs
                weights[label] = weights.get(label, 0.0) + reader.weight
        return {label: total[label] / weights[label] for label in total}

    def save(self, path: Path) -> None:
        """Write the model: plain arrays for an `.npz` path, a pickle otherwise."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".npz":
            self._save_arrays(path)
            return
        import joblib
        import sklearn

        meta = {**self.meta, "format": FORMAT, "sklearn": sklearn.__version__}
        joblib.dump({"readers": self.readers, "meta": meta}, path, compress=("xz", 6))

    def _save_arrays(self, path: Path) -> None:
        vectorizers: list[linear.Vectorizer] = []
        index: dict[int, int] = {}
        readers = []
        for reader in self.readers:
            if isinstance(reader, EmbeddingReader):
                readers.append((linear.EMBEDDINGS, reader.weight, reader.heads))
                continue
            if not isinstance(reader, Reader):
                raise ModelError(f"a model with a {type(reader).__name__} cannot be saved as .npz; "
                                 "give a .joblib path")
            key = id(reader.vectorizer)
            if key not in index:
                index[key] = len(vectorizers)
                exported = reader.vectorizer
                if not isinstance(exported, linear.Vectorizer):
                    exported = linear.export_vectorizer(exported)
                vectorizers.append(exported)
            heads = {label: head if isinstance(head, linear.Head) else linear.export_head(head)
                     for label, head in reader.heads.items()}
            readers.append((index[key], reader.weight, heads))
        linear.save(path, vectorizers, readers, {**self.meta, "format": FORMAT})

    @classmethod
    def from_arrays(cls, path: Path) -> DetectorModel:
        """The model in an `.npz` file written by `save`."""
        vectorizers, readers, meta = linear.load(path)
        loaded: list[Any] = []
        for v, weight, heads in readers:
            if v == linear.EMBEDDINGS:
                if not available():
                    raise ModelError(f"{path} reads MiniLM sentence embeddings, which need the "
                                     f"`transformer` extra: {INSTALL}")
                loaded.append(EmbeddingReader(heads, weight, int(meta.get("config", {}).get(
                    "embedding_max_tokens", 256))))
            else:
                loaded.append(Reader(vectorizers[v], heads, weight))
        return cls(loaded, meta)


_lock = threading.Lock()
_cache: dict[Path, DetectorModel] = {}


def model_file(path: Path | None, name: str) -> Path:
    """The model to load: `path` (FOLLOWUP_MODEL_PATH) or the shipped one named `name` (FOLLOWUP_DETECTOR)."""
    return path or SHIPPED[name]


def load_model(path: Path | None = None) -> DetectorModel:
    """Load (once per process) the model at `path`, or the one shipped in the package.

    An `.npz` model holds plain arrays; a `.joblib` one is a pickle: load only
    pickles you trained yourself.
    """
    target = (path or DEFAULT_MODEL).resolve()
    with _lock:
        cached = _cache.get(target)
        if cached is not None:
            return cached
        if not target.is_file():
            raise ModelError(f"no detector model at {target}; build one with `followup train`")
        try:
            model = DetectorModel.from_arrays(target) if zipfile.is_zipfile(target) else _unpickle(target)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"cannot load detector model {target}: {type(exc).__name__}: {exc}; "
                             "retrain it with `followup train`") from exc
        if model.meta.get("format") != FORMAT or set(model.heads) != set(LABELS):
            raise ModelError(f"{target} is not a followup detector model (format {model.meta.get('format')})")
        _cache[target] = model
        return model


def forget_model(path: Path | None = None) -> None:
    """Drop this process's copy of the model at `path` (its memory goes back to the system); the next
    `load_model` reads it again."""
    with _lock:
        _cache.pop((path or DEFAULT_MODEL).resolve(), None)


def _unpickle(path: Path) -> DetectorModel:
    import joblib
    import sklearn

    data = joblib.load(path)
    model = DetectorModel(data["readers"], data.get("meta", {}))
    if model.meta.get("sklearn") != sklearn.__version__:
        log.warning("detector model built with scikit-learn %s, running %s: retrain if scores look off",
                    model.meta.get("sklearn"), sklearn.__version__)
    return model
