"""The `followup` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.cli.concern_commands import add_parsers as add_plan_parsers
from service.cli.event_commands import add_parsers as add_event_parsers
from service.cli.event_commands import validate as validate_args
from service.errors import ConcernNotFound, FollowupError, SettingsError
from service.runtime.logs import setup_logging
from service.settings import Settings, load_settings
from service.store import concerns, messages

log = logging.getLogger("followup.cli")


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    # a stop asked for while the worker is still starting (imports, the model) is kept and
    # honoured once it runs: a service manager's SIGTERM always ends in a clean exit
    early: list[int] = []
    if not args.once:
        signal.signal(signal.SIGTERM, lambda signum, _frame: early.append(signum))
    from service.runtime.worker import Worker

    settings = _settings(args)

    async def main() -> int:
        worker = Worker(settings)
        if args.once:
            stats = await worker.run_once()
            print(json.dumps({"processed": stats.processed, "outcomes": stats.outcomes, "jobs": stats.jobs,
                              "sent": stats.sent, "send_failures": stats.send_failures}))
            return 0
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        if early:
            log.warning("stopping: asked to (signal %d) while starting", early[0])
            worker.stop()
        await worker.run_forever()
        return 0

    return asyncio.run(main())


def cmd_migrate(args: argparse.Namespace) -> int:
    from service.store.db import current_revision, make_engine, migrate

    settings = _settings(args)

    async def main() -> int:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            print(f"database at revision {await current_revision(engine)}")
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(main())


def cmd_classify(args: argparse.Namespace) -> int:
    from service.detector.detect import Thresholds, detect
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
                          "evidence": list(verdict.evidence)}, ensure_ascii=False), flush=True)

    if args.eml:
        for path in args.eml:
            msg = parse_message(Path(path).read_bytes())
            emit(path, msg.subject, msg.new_text)
        return 0
    status = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("not an object")
            emit(item.get("id"), str(item.get("subject") or ""), str(item.get("body") or ""))
        except ValueError as exc:
            print(f"followup classify: line {number}: {exc}", file=sys.stderr)
            status = 1
    return status


def cmd_train(args: argparse.Namespace) -> int:
    from service.detector.model import LABELS
    from service.detector.training.datasets import DatasetError, read_any
    from service.detector.training.train import TrainConfig, train
    from service.detector.transformer import INSTALL as TRANSFORMER_INSTALL
    from service.detector.transformer import available as transformer_available

    examples = []
    for spec in args.data:
        try:
            found = read_any(spec)
        except (DatasetError, OSError) as exc:
            print(f"followup train: {exc}", file=sys.stderr)
            return 2
        print(f"read {len(found):>6} examples from {spec}")
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


def cmd_eval(args: argparse.Namespace) -> int:
    from service.detector.detect import Thresholds
    from service.detector.model import load_model, model_file
    from service.detector.training.evaluate import run_all
    from service.settings import load_detector_settings

    config = load_detector_settings(args.config)
    model = load_model(args.model or model_file(config.model_path, config.detector))
    thresholds = Thresholds(config.complaint_threshold, config.anxiety_threshold)
    from service.detector.training.train import TrainConfig
    from service.detector.transformer import INSTALL as TRANSFORMER_INSTALL
    from service.detector.transformer import available as transformer_available

    if (args.transformer or args.embeddings) and not transformer_available():
        print(f"followup eval: {'--transformer' if args.transformer else '--embeddings'} needs the "
              f"transformer extra: {TRANSFORMER_INSTALL}", file=sys.stderr)
        return 2
    scores, _skipped = run_all(model, Path(args.shared), Path(args.client_data), thresholds, folds=args.folds,
                               cfg=TrainConfig(transformer=args.transformer, embeddings=args.embeddings))
    if args.json:
        Path(args.json).write_text(json.dumps([s.__dict__ for s in scores], indent=2))
    return 0 if scores else 1


def cmd_concerns(args: argparse.Namespace) -> int:
    from service.store.db import make_engine, migrate, session_factory

    settings = _settings(args)

    async def main() -> list[dict[str, Any]]:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with session_factory(engine)() as session:
                rows = await concerns.list_concerns(session, args.status)
        finally:
            await engine.dispose()
        return [{
            "id": c.token, "client": cl.email, "kind": c.kind, "severity": c.severity,
            "status": c.status, "escalation_level": c.escalation_level, "subject": c.subject,
            "created_at": c.created_at.isoformat(), "respond_by": c.respond_by.isoformat(),
        } for c, cl in rows]

    items = asyncio.run(main())
    if args.format == "json":
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("no concerns")
        return 0
    cols = ("id", "status", "kind", "severity", "escalation_level", "client", "subject")
    heads = ("ID", "STATUS", "KIND", "SEVERITY", "ESC", "CLIENT", "SUBJECT")
    widths = [max(len(h), *(len(str(i[c])[:50]) for i in items)) for c, h in zip(cols, heads, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for item in items:
        print("  ".join(str(item[c])[:50].ljust(w) for c, w in zip(cols, widths, strict=True)))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from service.store.db import make_engine, migrate, session_factory

    settings = _settings(args)

    async def main() -> int:
        engine = make_engine(settings.database_url)
        try:
            await migrate(engine)
            async with session_factory(engine)() as session:
                rows = await messages.list_quarantine(session)
        finally:
            await engine.dispose()
        if args.show is not None:
            match = [r for r in rows if r.id == args.show]
            if not match:
                print(f"no quarantined message {args.show}", file=sys.stderr)
                return 1
            sys.stdout.buffer.write(match[0].raw)
            return 0
        items: list[dict[str, Any]] = [
            {"id": r.id, "message_id": r.message_id, "source": r.source, "reason": r.reason,
             "size": len(r.raw), "created_at": r.created_at.isoformat()} for r in rows]
        if args.format == "json":
            print(json.dumps(items, indent=2))
        elif not items:
            print("quarantine is empty")
        else:
            for i in items:
                print(f"{i['id']:>5}  {i['created_at'][:19]}  {i['size']:>8}B  {i['message_id'] or '-'}\n"
                      f"       {i['reason'][:200]}\n       from {i['source']}")
        return 0

    return asyncio.run(main())


def cmd_check(args: argparse.Namespace) -> int:
    from service.cli.check import run_checks

    settings = _settings(args)
    return asyncio.run(run_checks(settings))


def cmd_demo(args: argparse.Namespace) -> int:
    from service.cli.demo import run_demo

    setup_logging("text", "WARNING")
    return asyncio.run(run_demo(Path(args.dir) if args.dir else None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="followup", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML settings file (or FOLLOWUP_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the worker")
    p.add_argument("--once", action="store_true", help="drain inbox and outbox, then exit")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="walk the whole loop on a temporary Maildir and SQLite")
    p.add_argument("--dir", help="where to put the demo (default: a new temporary folder)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("classify", help="JSON lines {id,subject,body} on stdin -> verdicts")
    p.add_argument("--eml", nargs="+", metavar="FILE", help="classify raw messages instead")
    p.add_argument("--model", type=Path, help="a model from `followup train` (default: the shipped one)")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("train", help="train the detector on labelled text")
    p.add_argument("--data", action="append", required=True, metavar="PATH",
                   help="a GoEmotions folder, or CSV / JSON lines with text (or subject, body) and "
                        "complaint/anxiety 0/1 (or label); repeat for several")
    p.add_argument("--out", type=Path, help="where to write the model: .npz (plain arrays, the default "
                   "followup-detector.npz) or .joblib (a pickle; needed with --transformer)")
    p.add_argument("--labels", help=argparse.SUPPRESS)
    p.add_argument("--transformer", action="store_true",
                   help="add a fine-tuned MiniLM reader (needs the transformer extra; slower, stronger)")
    p.add_argument("--embeddings", action="store_true",
                   help="add a reader of frozen MiniLM sentence embeddings (needs the transformer extra; "
                        "saved as .npz; how service/detector/artefacts/detector-minilm.npz is built)")
    p.set_defaults(func=cmd_train)

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

    p = sub.add_parser("concerns", help="list concerns")
    p.add_argument("--status", help="comma-separated statuses, e.g. open,acknowledged")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_concerns)

    p = sub.add_parser("quarantine", help="list messages that could not be processed")
    p.add_argument("--show", type=int, metavar="ID", help="write that message's raw bytes to stdout")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_quarantine)

    add_plan_parsers(sub)
    add_event_parsers(sub)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("check", help="test the connections in the settings").set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    validate_args(args)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"followup: {exc}", file=sys.stderr)
        return 2
    except ConcernNotFound as exc:
        print(f"followup: {exc}", file=sys.stderr)
        return 1
    except FollowupError as exc:
        print(f"followup: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
