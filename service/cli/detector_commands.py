"""`followup classify | train | eval`: the detector by hand, and the only way to its training code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.cli.session import Subparsers


# -- classify ----------------------------------------------------------------------------

def cmd_classify(args: argparse.Namespace) -> int:
    """Print one verdict per JSON line on stdin (or per raw message with `--eml`)."""
    from service.detector.detect import Thresholds, detect, detector_input
    from service.detector.model import load_model, model_file
    from service.mailformat.parse import parse_message, strip_quotes
    from service.settings import load_detector_settings

    config = load_detector_settings(args.config)
    thresholds = Thresholds(config.complaint_threshold, config.anxiety_threshold)
    model = load_model(args.model or model_file(config.model_path, config.detector))

    def emit(ident: Any, subject: str, body: str) -> None:
        # quoted replies and signatures are not the author's words, as in the worker
        verdict = detect(strip_quotes(body), subject=subject, thresholds=thresholds, model=model)
        print(json.dumps({"id": ident, "label": verdict.label, "score": verdict.score,
                          "evidence": list(verdict.evidence), "lang": verdict.lang}, ensure_ascii=False), flush=True)

    if args.eml:
        for path in args.eml:
            text, subject = detector_input(parse_message(Path(path).read_bytes()))  # as the worker reads it
            emit(path, subject, text)
        return 0
    status = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("not an object")
            # `text` is what `followup train` reads, so a training file classifies as it is
            if not any(key in item for key in ("subject", "body", "text")):
                raise ValueError('no "subject", "body" or "text" field')
            body = item["body"] if "body" in item else item.get("text")
            emit(item.get("id"), str(item.get("subject") or ""), str(body or ""))
        except ValueError as exc:
            print(f"followup classify: line {number}: {exc}", file=sys.stderr)
            status = 1
    return status


def add_classify(sub: Subparsers) -> None:
    """Register `followup classify`."""
    p = sub.add_parser("classify", help="JSON lines {id,subject,body|text} on stdin -> verdicts")
    p.add_argument("--eml", nargs="+", metavar="FILE", help="classify raw messages instead")
    p.add_argument("--model", type=Path, help="a model from `followup train` (default: the shipped one)")
    p.set_defaults(func=cmd_classify)


# -- train -------------------------------------------------------------------------------

def _training_installed() -> bool:
    """True when scikit-learn is here; else says how to get it (the worker's install leaves it out)."""
    try:  # imported, not looked up: training imports it next anyway, and a broken install fails here too
        import joblib  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        print("followup: training needs the `train` extra (scikit-learn): pip install 'followup[train]' "
              "(from a checkout: pip install '.[train]')", file=sys.stderr)
        return False
    return True


def cmd_train(args: argparse.Namespace) -> int:
    """Train a model on the given labelled data and write it where `--out` says."""
    if not _training_installed():
        return 2
    from service.detector.model import LABELS
    from service.detector.training.datasets import DatasetError, read_any, read_posts
    from service.detector.training.train import TrainConfig, train
    from service.detector.transformer import INSTALL as TRANSFORMER_INSTALL
    from service.detector.transformer import available as transformer_available

    examples = []
    sources = [(spec, read_any, "examples") for spec in args.data]
    sources += [(spec, read_posts, "posts") for spec in args.posts or ()]
    for spec, read, kind in sources:
        try:
            found = read(spec)
        except (DatasetError, OSError) as exc:
            print(f"followup train: {exc}", file=sys.stderr)
            return 2
        print(f"read {len(found):>6} {kind} from {spec}{' (complaint label only)' if kind == 'posts' else ''}")
        examples.extend(found)
    labels = tuple(args.labels.split(",")) if args.labels else LABELS
    cfg = TrainConfig(transformer=args.transformer, embeddings=args.embeddings)
    if (cfg.transformer or cfg.embeddings) and not transformer_available():
        print(f"followup train: {'--transformer' if cfg.transformer else '--embeddings'} needs the "
              f"transformer extra: {TRANSFORMER_INSTALL}", file=sys.stderr)
        return 2
    model = train(examples, cfg, labels=labels)
    if set(model.heads) != set(LABELS):
        print("followup train: the service needs both complaint and anxiety heads; "
              "give data that labels both", file=sys.stderr)
        return 2
    out = args.out or Path("followup-detector.joblib" if cfg.transformer else "followup-detector.npz")
    if cfg.transformer and out.suffix == ".npz":
        print("followup train: a model with the transformer reader is saved as a pickle: "
              "give --out a .joblib path", file=sys.stderr)
        return 2
    model.save(out)
    for label, counts in model.meta["counts"].items():
        print(f"{label:<9} trained on {counts['examples']} examples, {counts['positive']} positive")
    print(f"model written to {out}; use it with FOLLOWUP_MODEL_PATH={out}")
    return 0


def add_train(sub: Subparsers) -> None:
    """Register `followup train`."""
    p = sub.add_parser("train", help="train the detector on labelled text")
    p.add_argument("--data", action="append", required=True, metavar="PATH",
                   help="a GoEmotions folder, or CSV / JSON lines with text (or subject, body) and "
                        "complaint/anxiety 0/1 (or label); repeat for several")
    p.add_argument("--posts", action="append", metavar="PATH",
                   help="public posts to companies (tweets, social-media replies), CSV / JSON lines as for "
                        "--data: they train the general reader's complaint head only, at "
                        "half a client email's weight, and take no part in choosing thresholds; repeat for "
                        "several")
    p.add_argument("--out", type=Path, help="where to write the model: .npz (plain arrays, the default "
                   "followup-detector.npz) or .joblib (a pickle; needed with --transformer)")
    p.add_argument("--labels", help=argparse.SUPPRESS)
    p.add_argument("--transformer", action="store_true",
                   help="add a fine-tuned MiniLM reader (needs the transformer extra; slower, stronger)")
    p.add_argument("--embeddings", action="store_true",
                   help="add a reader of frozen MiniLM sentence embeddings (needs the transformer extra; "
                        "saved as .npz; how service/detector/artefacts/detector-minilm.npz is built)")
    p.set_defaults(func=cmd_train)


# -- eval --------------------------------------------------------------------------------

def cmd_eval(args: argparse.Namespace) -> int:
    """Measure the detector on the labelled data sets; 1 when there was nothing to measure."""
    if not _training_installed():
        return 2
    from service.detector.detect import Thresholds
    from service.detector.model import load_model, model_file
    from service.detector.training.evaluate import run_all
    from service.detector.training.train import TrainConfig
    from service.detector.transformer import INSTALL as TRANSFORMER_INSTALL
    from service.detector.transformer import available as transformer_available
    from service.settings import load_detector_settings

    config = load_detector_settings(args.config)
    model = load_model(args.model or model_file(config.model_path, config.detector))
    thresholds = Thresholds(config.complaint_threshold, config.anxiety_threshold)
    if (args.transformer or args.embeddings) and not transformer_available():
        print(f"followup eval: {'--transformer' if args.transformer else '--embeddings'} needs the "
              f"transformer extra: {TRANSFORMER_INSTALL}", file=sys.stderr)
        return 2
    scores, _skipped = run_all(model, Path(args.shared), Path(args.client_data), thresholds, folds=args.folds,
                               cfg=TrainConfig(transformer=args.transformer, embeddings=args.embeddings))
    if args.json:
        Path(args.json).write_text(json.dumps([s.__dict__ for s in scores], indent=2))
    return 0 if scores else 1


def add_eval(sub: Subparsers) -> None:
    """Register `followup eval`."""
    p = sub.add_parser("eval", help="measure the detector on the labelled data sets")
    p.add_argument("--shared", default="../shared/data", help="folder with complaints-social-media/, "
                   "dreaddit/, goemotions/")
    p.add_argument("--client-data", default="data/client_emails", help="folder with test.jsonl")
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--model", type=Path)
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--transformer", action="store_true",
                   help="cross-validate and train/test with the fine-tuned MiniLM reader added")
    p.add_argument("--embeddings", action="store_true",
                   help="cross-validate and train/test with the MiniLM sentence-embedding reader added")
    p.set_defaults(func=cmd_eval)
