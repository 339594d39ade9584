"""Client mail as mail programs deliver it, in seven languages: where the client's words end, and what
the detector makes of them.

    python bench/threads_languages.py [--split dev|heldout|all] [--misses] [--json] [FILE ...]

Reads the thread sets (`data/client_emails/threads-heldout.jsonl` and
`data/client_emails_i18n/LANG/threads-heldout.jsonl`, see their READMEs): client mail written blind
as it arrives, mostly replies and forwards under the quote heads mail programs write in each language,
with mobile footers, signatures and disclaimers, each labelled and with the client's own words (`own`)
copied out by its writer. Quality, not speed. Per language it prints:

- lost: messages where a line of the client's own words (five words or more) is missing from the text
  the service reads (`strip_quotes`): words of a concern that the detector never sees;
- leaked: messages where a line that is not the client's (quoted, forwarded, a footer or disclaimer;
  five words or more) is read as theirs;
- 3-label macro-F1 and concern-vs-none F1 of the shipped detector on the text the service reads, and
  the same on the writer's own words (what a perfect quote cut would give), so a gap between the two
  is the cut's and the rest is the model's.

Odd ids are the development half for the quote cut, even ids the held-out half. `--json` prints one line a
language instead; `tests/integration/test_thread_mail.py` holds floors on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.heldout_languages import figures  # the same scoring as the held-out bench
from service.detector.model import load_model
from service.detector.training.datasets import read_user_file
from service.mailformat.parse import strip_quotes
from service.mailformat.plain import lines_of

ROOT = Path(__file__).resolve().parent.parent
LONG = 5  # words: a line this long is a sentence, not a name or "Thanks"


def default_files() -> list[Path]:
    return [ROOT / "data/client_emails/threads-heldout.jsonl",
            *sorted((ROOT / "data/client_emails_i18n").glob("*/threads-heldout.jsonl"))]


def _norm(line: str) -> str:
    return " ".join(line.split()).casefold()


def cut_errors(body: str, own: str) -> tuple[list[str], list[str]]:
    """(the client's lines missing from what the service reads, the lines not theirs read as theirs)."""
    read = {_norm(line) for line in lines_of(strip_quotes(body))}
    mine = {_norm(line) for line in lines_of(own)}
    lost = [line for line in mine if len(line.split()) >= LONG and line not in read]
    others = {_norm(line) for line in lines_of(body)} - mine
    leaked = [line for line in others if len(line.split()) >= LONG and line in read
              and not line.startswith(">")]
    return lost, leaked


def _figures(items: list[dict[str, object]], field: str) -> tuple[float, float]:
    """Detector (3-label, concern) on the items read from `field`: "body" as the service reads it, "own"."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        path.write_text("".join(json.dumps({"subject": i["subject"], "body": i[field], "complaint": i["complaint"],
                                            "anxiety": i["anxiety"]}) + "\n" for i in items), encoding="utf-8")
        return figures(load_model(), read_user_file(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    ap.add_argument("--misses", action="store_true", help="print each lost or leaked line")
    ap.add_argument("--json", action="store_true", help="one JSON line a language")
    ap.add_argument("files", nargs="*", type=Path)
    args = ap.parse_args()
    files = [f for f in (args.files or default_files()) if f.is_file()]
    if not files:
        raise SystemExit("no thread mail found")
    parity = {"dev": 1, "heldout": 0}.get(args.split)
    by_lang: dict[str, list[dict[str, object]]] = defaultdict(list)
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                if parity is None or int(str(item["id"])[-3:]) % 2 == parity:
                    by_lang[str(item["lang"])].append(item)
    if not args.json:
        print(f"split: {args.split}")
        print(f"{'':4}{'n':>5}{'lost':>7}{'leaked':>8}   read: 3 labels  concern   own: 3 labels  concern")
    for lang, items in sorted(by_lang.items()):
        lost = leaked = 0
        for item in items:
            gone, extra = cut_errors(str(item["body"]), str(item["own"]))
            lost += bool(gone)
            leaked += bool(extra)
            if args.misses and (gone or extra):
                print(f"  {item['id']} {item.get('program', '')!s:.40}")
                for line in gone:
                    print(f"     lost: {line[:120]}")
                for line in extra:
                    print(f"   leaked: {line[:120]}")
        read3, readc = _figures(items, "body")
        own3, ownc = _figures(items, "own")
        if args.json:
            print(json.dumps({"lang": lang, "n": len(items), "lost": lost, "leaked": leaked, "read": [read3, readc],
                              "own": [own3, ownc]}))
            continue
        print(f"{lang:4}{len(items):>5}{lost:>7}{leaked:>8}{read3:>16.3f}{readc:>9.3f}{own3:>16.3f}{ownc:>9.3f}")


if __name__ == "__main__":
    main()
