"""Message text to `Verdict`: complaint, anxiety or none, with the sentences that decided it.

First version: weighted cue phrases per sentence, with negation. Pure and
deterministic; the learned detector replaces the scoring, not the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Label = Literal["complaint", "anxiety", "none"]

_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n{2,}|\n(?=[-*•])")
_NEGATION_RE = re.compile(
    r"\b(not|no|never|n't|nothing|without)\b(?:\W+\w+){0,2}\W*$", re.IGNORECASE
)

_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "complaint": (
        (r"unacceptable", 0.9), (r"furious", 0.9), (r"outrag\w*", 0.9), (r"disgust\w*", 0.8),
        (r"disappoint\w*", 0.7), (r"dissatisf\w*", 0.8), (r"complain\w*", 0.8),
        (r"frustrat\w*", 0.7), (r"annoy\w*", 0.6), (r"angry", 0.8), (r"ridiculous", 0.7),
        (r"terrible", 0.7), (r"awful", 0.7), (r"worst", 0.7), (r"poor service", 0.8),
        (r"still (?:not|hasn't|haven't|no)\b", 0.6), (r"(?:third|fourth|fifth|\d+(?:st|nd|rd|th)) time", 0.7),
        (r"nobody (?:has )?(?:called|replied|answered|responded|came|showed)", 0.7),
        (r"no one (?:has )?(?:called|replied|answered|responded|came|showed)", 0.7),
        (r"(?:charged|billed) (?:us |me )?(?:twice|wrongly|incorrectly|double)", 0.8),
        (r"overcharg\w*", 0.8), (r"refund", 0.5), (r"you promised", 0.7), (r"broken promise", 0.8),
        (r"waste of", 0.6), (r"fed up", 0.8), (r"sick of", 0.7), (r"not good enough", 0.7),
        (r"let (?:us|me) down", 0.7), (r"cancel (?:our|my) (?:contract|account|subscription)", 0.7),
    ),
    "anxiety": (
        (r"worr\w*", 0.8), (r"anxious", 0.9), (r"anxiety", 0.9), (r"nervous", 0.8),
        (r"scared", 0.8), (r"afraid", 0.7), (r"stress\w*", 0.7), (r"panic\w*", 0.8),
        (r"concern(?:ed|s)?", 0.5), (r"uneasy", 0.7), (r"overwhelm\w*", 0.7),
        (r"what happens if", 0.7), (r"who do (?:i|we) call", 0.6),
        (r"not sure (?:we|i)'?(?:ll| will)? be ready", 0.8),
        (r"keep(?:s|ing)? me (?:up|awake) at night", 0.9), (r"losing sleep", 0.9),
        (r"(?:lose|losing|lost) (?:our|my|all) (?:data|files|money|deposit)", 0.7),
        (r"deadline", 0.4), (r"audit", 0.3), (r"go-?live", 0.3), (r"in time", 0.3),
        (r"what if", 0.5), (r"can't afford", 0.6), (r"fear\w*", 0.7), (r"dread\w*", 0.8),
    ),
}
_COMPILED = {
    label: tuple((re.compile(r"\b" + pat + r"\b", re.IGNORECASE), w) for pat, w in cues)
    for label, cues in _CUES.items()
}
_RELIEF_RE = re.compile(r"\bno worries\b|\bnot worried\b|\bnothing to worry\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """What the detector decided, per-label scores, and the sentences that decided it."""

    label: Label
    score: float
    evidence: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)


def sentences(text: str) -> list[str]:
    """Split text into trimmed sentences."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]


def _sentence_score(sentence: str, label: str) -> float:
    best = 0.0
    for pattern, weight in _COMPILED[label]:
        for match in pattern.finditer(sentence):
            if _NEGATION_RE.search(sentence[: match.start()]):
                continue
            best = max(best, weight)
    return best


def detect(text: str, *, subject: str = "", threshold: float = 0.5) -> Verdict:
    """Score `text` (the author's new words) for complaint and anxiety."""
    parts = sentences(f"{subject}.\n\n{text}" if subject else text)
    scores: dict[str, float] = {}
    evidence: dict[str, list[tuple[float, str]]] = {}
    for label in _COMPILED:
        hits = []
        for sentence in parts:
            if label == "anxiety" and _RELIEF_RE.search(sentence):
                continue
            score = _sentence_score(sentence, label)
            if score > 0:
                hits.append((score, sentence))
        hits.sort(key=lambda h: -h[0])
        # several weak cues together are worth one strong one
        total = 1.0
        for score, _ in hits:
            total *= 1.0 - score
        scores[label] = round(1.0 - total, 3)
        evidence[label] = hits
    label, score = max(scores.items(), key=lambda kv: kv[1])
    if score < threshold:
        return Verdict("none", round(1.0 - score, 3), (), scores)
    chosen: Label = "complaint" if label == "complaint" else "anxiety"
    # the three strongest sentences, quoted in the order the client wrote them
    top = {s for _, s in evidence[label][:3]}
    return Verdict(chosen, score, tuple(s[:300] for s in parts if s in top), scores)
