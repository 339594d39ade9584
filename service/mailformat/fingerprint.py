"""What makes two deliveries the same message: a digest of its content, not of its bytes. Pure.

A message delivered twice (again after a crash, through a second mailbox, with other
Received or Delivered-To lines, re-encoded on the way) has the same sender, date, subject
and text; a different message that reuses a Message-ID (a broken mail program, a forged
one) does not, and is stored as the new message it is.
"""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime


def content_fingerprint(from_addr: str, date: datetime | None, subject: str, text: str) -> str:
    """sha256 (hex) of the sender's address, the Date (in UTC), the subject and the body text, each
    normalised: Unicode NFC, line ends, trailing blanks and runs of spaces in the subject do not count."""
    when = "" if date is None else (date.astimezone(UTC) if date.tzinfo else date).isoformat()
    body = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = "\n".join(line.rstrip() for line in body.split("\n")).strip()
    parts = (from_addr.strip().lower(), when, " ".join(unicodedata.normalize("NFC", subject).split()), lines)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
