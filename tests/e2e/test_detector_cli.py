"""The detector seen from a fresh interpreter: what the command line refuses without the transformer extra,
and what a worker process never imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.detector.model import load_model
from service.detector.transformer import available

from mailfactory import toy_training_file


def test_train_refuses_transformer_without_the_extra(tmp_path: Path) -> None:
    if available():
        pytest.skip("the transformer extra is installed here; this test is about its absence")
    done = subprocess.run([sys.executable, "-m", "service", "train", "--data", str(toy_training_file(tmp_path)),
                           "--transformer", "--out", str(tmp_path / "m.joblib")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "transformer extra" in done.stderr and not (tmp_path / "m.joblib").exists()


def test_train_and_eval_without_scikit_learn_say_which_extra(tmp_path: Path) -> None:
    # the worker's install leaves the `train` extra out: an interpreter where scikit-learn cannot be found
    code = ("import sys, importlib.abc\n"
            "class Hide(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('sklearn', 'joblib'): raise ModuleNotFoundError(name)\n"
            "        return None\n"
            "sys.meta_path.insert(0, Hide())\n"
            "from service.cli.app import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    for args in (["train", "--data", str(toy_training_file(tmp_path)), "--out", str(tmp_path / "m.npz")], ["eval"]):
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "pip install 'followup[train]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "m.npz").exists()


MINILM = Path(__file__).resolve().parents[2] / "service" / "detector" / "artefacts" / "detector-minilm.npz"


def test_minilm_model_without_the_extra_is_refused_by_name(tmp_path: Path) -> None:
    if available():
        pytest.skip("the transformer extra is installed here; this test is about its absence")
    from service.detector.model import ModelError

    with pytest.raises(ModelError, match="transformer` extra"):
        load_model(MINILM)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path}/in", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path}/out",
                "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_DETECTOR": "minilm"})
    done = subprocess.run([sys.executable, "-m", "service", "concerns"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2
    assert "FOLLOWUP_DETECTOR" in done.stderr and "transformer` extra" in done.stderr


def test_a_worker_never_imports_scikit_learn() -> None:
    code = ("import sys, service.runtime.worker, service.cli.app\n"
            "from service.detector.detect import detect\n"
            "assert detect('We were charged twice and nobody called back.').label == 'complaint'\n"
            "print(sorted(m for m in ('sklearn', 'scipy', 'joblib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_train_with_posts_from_the_command_line(tmp_path: Path) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text("\n".join(
        f'{{"text": "@zipparcel parcel {n} never came #fail", "complaint": 1, "anxiety": 1}}\n'
        f'{{"text": "@zipparcel thanks for the quick reply {n}", "complaint": 0, "anxiety": 0}}' for n in range(10)))
    out = tmp_path / "m.npz"
    done = subprocess.run([sys.executable, "-m", "service", "train", "--data", str(toy_training_file(tmp_path)),
                           "--posts", str(posts), "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"read     20 posts from {posts} (complaint label only)" in done.stdout
    counts = load_model(out).meta["counts"]
    assert counts["complaint"]["examples"] == 48 + 20 and counts["anxiety"]["examples"] == 48
    missing = subprocess.run([sys.executable, "-m", "service", "train", "--data", str(toy_training_file(tmp_path)),
                              "--posts", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "n.npz")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "none.jsonl: no such file" in missing.stderr
