"""Labelled text for training and measuring the detector, read from the formats we support.

Every loader returns `Example`s with both labels; a source that only knows one
label marks the other as unknown (None), and training skips it for that head.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from service.mailformat.parse import strip_quotes

# GoEmotions emotions that stand for each of our labels
GOEMOTIONS_MAP = {
    "complaint": ("anger", "annoyance", "disappointment", "disapproval", "disgust"),
    "anxiety": ("nervousness", "fear"),
}


@dataclass(frozen=True)
class Example:
    text: str
    complaint: int | None
    anxiety: int | None
    source: str

    def label(self, name: str) -> int | None:
        return self.complaint if name == "complaint" else self.anxiety


class DatasetError(ValueError):
    """A data file could not be read as labelled text."""


def _flag(value: object) -> int:
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y"}:
        return 1
    if text in {"0", "false", "no", "n", ""}:
        return 0
    raise DatasetError(f"not a 0/1 label: {value!r}")


def _from_record(record: dict[str, object], where: str) -> Example:
    source = where.rsplit(":", 1)[0]
    text = str(record.get("text") or "")
    if not text:
        # a whole email: read it as the service does, the author's new words after the subject
        subject, body = str(record.get("subject") or ""), strip_quotes(str(record.get("body") or ""))
        text = f"{subject}\n\n{body}".strip() if subject else body
    if not text:
        raise DatasetError(f"{where}: a record has no text (fields text, or subject and body)")
    if "complaint" in record or "anxiety" in record:
        complaint = _flag(record["complaint"]) if "complaint" in record else None
        anxiety = _flag(record["anxiety"]) if "anxiety" in record else None
    elif "label" in record:
        label = str(record["label"]).strip().lower()
        if label not in {"complaint", "anxiety", "both", "none"}:
            raise DatasetError(f"{where}: label must be complaint, anxiety, both or none, got {label!r}")
        complaint = int(label in {"complaint", "both"})
        anxiety = int(label in {"anxiety", "both"})
    else:
        raise DatasetError(f"{where}: a record has no complaint/anxiety or label field")
    return Example(text, complaint, anxiety, source)


def read_user_file(path: Path) -> list[Example]:
    """JSON lines or CSV (with a header): text or subject+body, and complaint/anxiety or label."""
    source = path.name
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        out = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        out.append(_from_record(json.loads(line), f"{source}:{number}"))
                    except json.JSONDecodeError as exc:
                        raise DatasetError(f"{source}:{number}: not JSON: {exc}") from exc
        return out
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            rows = enumerate(csv.DictReader(handle), 2)
            return [_from_record(dict(row), f"{source}:{n}") for n, row in rows]
    raise DatasetError(f"{path}: expected .jsonl, .json or .csv")


def read_goemotions(directory: Path, split: str = "train") -> list[Example]:
    """GoEmotions TSV (text, comma-separated emotion ids, comment id) mapped onto our labels."""
    names = (directory / "labels.txt").read_text(encoding="utf-8").split()
    ids = {label: {names.index(e) for e in emotions} for label, emotions in GOEMOTIONS_MAP.items()}
    out = []
    with (directory / f"{split}.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            text, emotions, *_ = line.rstrip("\n").split("\t")
            found = {int(e) for e in emotions.split(",") if e}
            out.append(Example(text, int(bool(found & ids["complaint"])), int(bool(found & ids["anxiety"])),
                               f"goemotions/{split}"))
    return out


def read_complaints(path: Path) -> list[Example]:
    """Complaints in Social Media: the 1,974 annotated rows (random_* domains are unannotated)."""
    out = []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) >= 4 and row[3] not in {"random_reply", "random_tweet"}:
                out.append(Example(row[1], int(row[2]), None, "complaints"))
    return out


def read_dreaddit(path: Path) -> list[Example]:
    """Dreaddit: stress (1) or not, read by header name."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [Example(row["text"], None, int(row["label"]), "dreaddit") for row in csv.DictReader(handle)]


def read_any(spec: str) -> list[Example]:
    """`followup train --data` argument: a GoEmotions folder, or a user's CSV / JSON lines file."""
    path = Path(spec)
    if path.is_dir():
        if (path / "labels.txt").is_file() and (path / "train.tsv").is_file():
            return read_goemotions(path, "train")
        raise DatasetError(f"{path}: a folder must be GoEmotions (labels.txt, train.tsv)")
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    return read_user_file(path)


# the source of every example `read_posts` returns starts with this
POSTS = "posts/"


def read_posts(spec: str) -> list[Example]:
    """`followup train --posts` argument: public posts to companies, read for their complaint label only.

    A post's worry is incidental to why it was written (few posts carry one), so its anxiety label is
    dropped: hundreds of short calm-labelled posts would teach the anxiety head that brevity is calm.
    (Its links, which on a public feed sit under announcements and offers, are not read: `normalise`
    leaves every text's links out.)
    """
    path = Path(spec)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    return [Example(e.text, e.complaint, None, POSTS + e.source) for e in read_user_file(path)
            if e.complaint is not None]
