"""How the word readers other than the detector hear clients in each language, on mail written blind.

    python bench/readers_languages.py [--split dev|heldout|all] [--misses] [--json] [FILE ...]

Reads `data/reader_mail/LANG.jsonl` (see its README): short client messages of four kinds, each
labelled with what a reader should say of it, written by writers who never saw the readers. Each
message is built as real mail and parsed by the service's own parser, then read as the service reads
it:

- settled: `says_all_is_well` on the parsed message's new words, or its subject where it has none (the
  check-in reply rule's test, `flows/client_replies`);
- stop: `stop_requested`, with the default detector's verdict deciding whether a concern is present;
- urgent: the subject marks the mail urgent (`severity_of`'s subject test);
- autoreply: the parser found a machine's signal (`Inbound.auto_signals`).

Quality, not speed. For each language and kind it prints how many of the messages that should be heard
were heard (recall), and how many of those that should not were (false alarms). Odd ids are the
development half, even ids the held-out half, read only to measure. `--json` prints one line a message
instead (id, lang, kind, expect, heard): `tests/integration/test_reader_mail.py` reads that and holds the floors.
FILEs given are read instead of `data/reader_mail/` (each message names its language).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from service.core.settled_reply import says_all_is_well
from service.core.stop_request import stop_requested
from service.core.urgency import marked_urgent
from service.detector.detect import detect, detector_input
from service.mailformat.parse import Inbound, parse_message
from service.mailformat.replies import reply_words

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "data/reader_mail"
KINDS = ("settled", "stop", "urgent", "autoreply")


def as_mail(item: dict[str, object], n: int) -> Inbound:
    """The item as the service would receive it: a plain-text message from a client."""
    msg = EmailMessage()
    msg["From"] = "Client <client@example.com>"
    msg["To"] = "help@example.com"
    msg["Subject"] = str(item["subject"]).replace("\n", " ")
    msg["Date"] = format_datetime(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = f"<reader-{n}@example.com>"
    msg.set_content(str(item["body"]) or " ")
    return parse_message(msg.as_bytes())


def heard(kind: str, msg: Inbound) -> bool:
    """What the service's reader of `kind` says of `msg`."""
    if kind == "settled":
        return says_all_is_well(reply_words(msg.new_text, msg.subject))
    if kind == "stop":
        text, subject = detector_input(msg)
        return stop_requested(msg, concern=detect(text, subject=subject).label != "none")
    if kind == "urgent":
        return marked_urgent(msg.subject)
    return bool(msg.auto_signals)


def read(files: list[Path], split: str) -> dict[str, list[dict[str, object]]]:
    """The messages of `files` in `split`, by language."""
    by_lang: dict[str, list[dict[str, object]]] = defaultdict(list)
    parity = {"dev": 1, "heldout": 0}.get(split)
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                if parity is None or int(str(item["id"])[-3:]) % 2 == parity:
                    by_lang[str(item.get("lang") or path.stem)].append(item)
    return by_lang


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    ap.add_argument("--misses", action="store_true", help="print each message a reader got wrong")
    ap.add_argument("--json", action="store_true", help="one JSON line a message: what each reader said")
    ap.add_argument("files", nargs="*", type=Path, help="reader mail to read instead of data/reader_mail/")
    args = ap.parse_args()
    files = args.files or sorted(FOLDER.glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no reader mail in {FOLDER}")
    by_lang = read(files, args.split)
    if args.json:
        for lang, items in sorted(by_lang.items()):
            for n, item in enumerate(items):
                said = heard(str(item["kind"]), as_mail(item, n))
                print(json.dumps({"id": item["id"], "lang": lang, "kind": item["kind"],
                                  "expect": bool(item["expect"]), "heard": said}))
        return
    print(f"split: {args.split}   cells: heard/should be heard, false alarms/should not be")
    print(f"{'':4}" + "".join(f"{k:>22}" for k in KINDS))
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for lang, items in sorted(by_lang.items()):
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for n, item in enumerate(items):
            kind = str(item["kind"])
            said = heard(kind, as_mail(item, n))
            expect = bool(item["expect"])
            c = counts[kind]
            if expect:
                c[0] += said
                c[1] += 1
            else:
                c[2] += said
                c[3] += 1
            if said != expect and args.misses:
                print(f"  MISS {item['id']} {kind} expect={expect}: {item['subject']!r} {str(item['body'])[:160]!r}")
        row = f"{lang:4}"
        for kind in KINDS:
            c = counts[kind]
            totals[kind] = [a + b for a, b in zip(totals[kind], c, strict=True)]
            row += f"{c[0]:>8}/{c[1]:<3}{c[2]:>6}/{c[3]:<3}"
        print(row)
    row = "all "
    for kind in KINDS:
        c = totals[kind]
        row += f"{c[0]:>8}/{c[1]:<3}{c[2]:>6}/{c[3]:<3}"
    print(row)


if __name__ == "__main__":
    main()
