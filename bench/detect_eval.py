"""Detector figures: quality on every data set (via `followup eval`) and speed against parsing alone.

    python bench/detect_eval.py [--folds 10] [--shared ../shared/data] [--quick]

Speed: the same N messages are parsed (the baseline), then parsed and
detected; the ratio says what detection adds. Pinned to one core.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from pathlib import Path

from service.detector.detect import Thresholds, detect, detect_many, detector_input
from service.detector.training.datasets import read_user_file
from service.detector.training.evaluate import run_all
from service.detector.training.train import TrainConfig
from service.mailformat.parse import parse_message

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def corpus(n: int) -> list[bytes]:
    texts = [e.text for e in read_user_file(ROOT / "data/client_emails/train.jsonl")]
    out = []
    for i in range(n):
        body = texts[i % len(texts)].replace("\r", "")
        out.append((f"From: Client {i} <c{i}@client.example>\r\nTo: care@example.test\r\n"
                    f"Subject: message {i}\r\nMessage-ID: <b{i}@client.example>\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode())
    return out


def best_rate(fn, items: list[bytes], repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = 0.0
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for raw in items:
            fn(raw)
        best = max(best, len(items) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="speed and memory only")
    parser.add_argument("--model", type=Path, help="a model from `followup train` (default: the shipped one)")
    parser.add_argument("--transformer", action="store_true",
                        help="quality only: cross-validate and train/test with the MiniLM reader added")
    parser.add_argument("--embeddings", action="store_true",
                        help="quality only: cross-validate and train/test with the MiniLM embedding reader added")
    args = parser.parse_args()
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if cores:
        os.sched_setaffinity(0, {min(cores)})  # speed is measured on one core

    before = rss_mb()
    from service.detector.model import load_model

    start = time.perf_counter()
    model = load_model(args.model)
    load_s = time.perf_counter() - start
    after = rss_mb()
    # what the detector loads at its first message besides the model: the language identifier (fastText's
    # lite model) and the sentence splitter of the evidence
    from service.detector.detect import sentences
    from service.detector.language import identify

    identify("Bonjour, la facture est encore fausse.")
    with_language = rss_mb()
    sentences("Bonjour. La facture est fausse.", "fr")
    with_splitter = rss_mb()
    thresholds = Thresholds()

    items = corpus(args.messages)
    baseline = best_rate(lambda raw: parse_message(raw), items)

    def parse_and_detect(raw: bytes) -> None:
        text, subject = detector_input(parse_message(raw))
        detect(text, subject=subject, thresholds=thresholds, model=model)

    full = best_rate(parse_and_detect, items)
    detect_only = 1.0 / (1.0 / full - 1.0 / baseline) if full < baseline else float("inf")

    def batched(batch: list[bytes]) -> None:  # as the worker does: one model pass per fetched batch
        msgs = [parse_message(raw) for raw in batch]
        detect_many([detector_input(m) for m in msgs], thresholds=thresholds, model=model)

    batches = [items[i:i + 50] for i in range(0, len(items), 50)]
    full_batched = best_rate(batched, batches) * 50  # type: ignore[arg-type]
    batched_only = 1.0 / (1.0 / full_batched - 1.0 / baseline) if full_batched < baseline else float("inf")
    print(f"model: loaded in {load_s:.2f}s, +{after - before:.0f} MB RSS "
          f"({os.path.getsize(args.model or ROOT / 'service/detector/artefacts/detector.npz') / 1e6:.1f} MB on disk)")
    print(f"language identification +{with_language - after:.0f} MB RSS, sentence splitter "
          f"+{with_splitter - with_language:.0f} MB; the detector in all +{with_splitter - before:.0f} MB")
    print(f"speed, one core, {len(items)} messages, best of 3:")
    print(f"  parse only (baseline)   {baseline:8.0f} msg/s")
    print(f"  parse + detect          {full:8.0f} msg/s   ratio to baseline {full / baseline:.2f}")
    print(f"  detect alone (derived)  {detect_only:8.0f} msg/s")
    print(f"  parse + detect, batches of 50  {full_batched:8.0f} msg/s   ratio to baseline "
          f"{full_batched / baseline:.2f}; detect alone {batched_only:.0f} msg/s")
    if not args.quick:
        if cores:
            os.sched_setaffinity(0, cores)  # training for the cross-validation may use them all
        print()
        run_all(model, Path(args.shared), ROOT / "data/client_emails", thresholds, folds=args.folds,
                cfg=TrainConfig(transformer=args.transformer, embeddings=args.embeddings))


if __name__ == "__main__":
    main()
