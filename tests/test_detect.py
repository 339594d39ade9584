"""The first detector: labels and evidence on plain cases (the learned detector has its own table)."""

from __future__ import annotations

import pytest

from service.detect import detect


@pytest.mark.parametrize(("text", "label"), [
    ("This is unacceptable. I am furious that nobody called.", "complaint"),
    ("We were charged twice for the same invoice.", "complaint"),
    ("I'm really worried we won't be ready for the audit. What happens if we fail?", "anxiety"),
    ("Thank you for the quick help yesterday!", "none"),
    ("No worries at all, see you Monday.", "none"),
    ("I'm not worried at all about the move.", "none"),
])
def test_labels(text: str, label: str) -> None:
    assert detect(text).label == label


def test_evidence_is_the_clients_sentence() -> None:
    verdict = detect("Hello. The van never came and this is unacceptable. Regards.")
    assert verdict.evidence == ("The van never came and this is unacceptable.",)
    assert 0.5 <= verdict.score <= 1.0
