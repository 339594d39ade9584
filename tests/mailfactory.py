"""Client messages for tests, built with the stdlib."""

from __future__ import annotations

import itertools
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

_seq = itertools.count()

# a complaint, a worry and a thank-you: the detector tells them apart (complaint, anxiety, none)
WORRIES = [("Invoice charged twice", "This is unacceptable. We were charged twice and nobody called back."),
           ("Migration on Monday", "I'm really worried the migration fails and we lose our client records.")]
THANKS = ("Thanks", "Thanks a lot for the quick help, everything works again.")


def client_mail(*, sender: str = "Ana Lopez <ana@client.example>", to: str = "care@example.test",
                subject: str = "Invoice charged twice", body: str = "This is unacceptable. Nobody called back.",
                message_id: str | None = None, headers: dict[str, str] | None = None,
                in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="client.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes(policy=policy.SMTP)


def mixed_batch(n: int) -> list[bytes]:
    """`n` messages from `n` clients: a complaint, a worry and a thank-you in turn."""
    out = []
    for k in range(n):
        subject, body = THANKS if k % 3 == 2 else WORRIES[k % 2]
        out.append(client_mail(sender=f"Client {k} <c{k}@client.example>", subject=f"{subject} {k}", body=body))
    return out


def drop(maildir: Path, raw: bytes) -> Path:
    """Deliver into a Maildir's new/ the way an MDA does (tmp/, then rename)."""
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    name = f"1763700000.M{next(_seq):06d}P1.test"
    tmp = maildir / "tmp" / name
    tmp.write_bytes(raw)
    target = maildir / "new" / name
    tmp.rename(target)
    return target


def deep_nesting(levels: int = 3000) -> bytes:
    """A message whose MIME nesting exhausts the stdlib parser's recursion."""
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                    for i in range(levels))
    return (b"From: Bob <bob@client.example>\r\nMessage-ID: <deep@client.example>\r\n"
            b"Subject: nested\r\n" + head + b"Content-Type: text/plain\r\n\r\nhi\r\n")


def toy_training_file(tmp_path: Path, *, copies: int = 16, numbered: str = " ({n})") -> Path:
    """A small labelled JSONL file for training the detector: `copies` of a complaint, a worry and a thanks."""
    import json

    rows: list[dict[str, object]] = []
    for n in range(copies):
        tag = numbered.format(n=n)
        rows.append({"text": f"the invoice was wrong again, refund me now{tag}", "complaint": 1, "anxiety": 0})
        rows.append({"text": f"I am so worried about the audit deadline{tag}", "complaint": 0, "anxiety": 1})
        rows.append({"text": f"thanks, see you at the meeting{tag}", "label": "none"})
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path
