"""Message text to `Verdict`: complaint, anxiety or none, each with its own score and evidence.

The scores come from the learned model (service/detector/model.py); this module decides
the label from them and finds the sentences that carried it. Pure given the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from service.detector.language import SUPPORTED, identify
from service.detector.model import LABELS, DetectorModel, load_model
from service.mailformat.parse import Inbound
from service.mailformat.replies import is_reply

Label = Literal["complaint", "anxiety", "none"]

# where the layout ends a sentence whatever its punctuation: a blank line, a list item, a line that starts
# with a capital; within what is left, the language's sentence splitter decides
_LAYOUT_RE = re.compile(r"\n{2,}|\n(?=[-*•])|\n(?=[A-ZÀ-ÖØ-Þ])")
# "M. Dupont", "o.a. maandag", "p. ex.": a piece ending in a short abbreviation the splitter did not know,
# joined to the next one when that one goes on in lower case or the abbreviation is a title's
_SHORT_END_RE = re.compile(r"(?:^|\s)(?:(?P<title>[A-ZÀ-Þ][a-zà-ÿ]{0,2})\.|(?:[a-zà-ÿ]{1,3}\.)+)$")
_MAX_SENTENCES = 40


@dataclass(frozen=True)
class Thresholds:
    """Per-label decision thresholds; None means the one the model was trained with."""

    complaint: float | None = None
    anxiety: float | None = None

    def of(self, label: str) -> float:
        value = self.complaint if label == "complaint" else self.anxiety
        return 0.5 if value is None else value

    def resolve(self, model: DetectorModel, lang: str | None = None) -> Thresholds:
        """Each label's threshold: the one set, else the model's for the text's language `lang`."""
        return Thresholds(
            model.threshold("complaint", lang) if self.complaint is None else self.complaint,
            model.threshold("anxiety", lang) if self.anxiety is None else self.anxiety,
        )


@dataclass(frozen=True)
class Verdict:
    """The chosen label and its score, every label's score, and the sentences that decided it."""

    label: Label
    score: float
    evidence: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    evidence_by_label: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # the language the text is written in (ISO 639-1), None when too short to tell
    lang: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label over its threshold (a message can carry both)."""
        return tuple(label for label, ev in self.evidence_by_label.items() if ev)


def sentences(text: str, lang: str | None = None) -> list[str]:
    """Split text into trimmed sentences: by its layout, then by the sentence ends of its language, which
    know that language's abbreviations ("z. B.", "p. ej.", "Sr.", "e.g."; sentencex, Wikimedia's splitter)."""
    import sentencex  # compiled, about 2 us a call

    splitter_lang = lang if lang in SUPPORTED else "en"  # an unknown code would split nothing
    parts: list[str] = []
    for block in _LAYOUT_RE.split(text):
        line = " ".join(block.split())
        if not line:
            continue
        joined: list[str] = []
        for piece in (p.strip() for p in sentencex.segment(splitter_lang, line)):
            end = _SHORT_END_RE.search(joined[-1]) if joined and piece else None
            if end is not None and (end.group("title") or piece[:1].islower()):
                joined[-1] = f"{joined[-1]} {piece}"
            elif piece:
                joined.append(piece)
        parts += joined
    return [p for p in parts if len(p) > 2][:_MAX_SENTENCES]


def detector_input(msg: Inbound) -> tuple[str, str]:
    """What the detector reads of a message: the author's new words, and the subject of a new message.

    A reply's subject ("Re: Thanks for the update [#C-1]") repeats the thread's, in no words of
    the writer's: it is not read, so that it can neither be a reply's only evidence nor outweigh
    what the reply says (`service.mailformat.replies.is_reply`).
    """
    return msg.new_text, "" if is_reply(msg) else msg.subject


def detect(text: str, *, subject: str = "", thresholds: Thresholds | None = None,
           model: DetectorModel | None = None, model_path: Path | None = None) -> Verdict:
    """Score the author's new words (and the subject) for complaint and anxiety."""
    return detect_many([(text, subject)], thresholds=thresholds, model=model, model_path=model_path)[0]


def detect_many(items: Sequence[tuple[str, str]], *, thresholds: Thresholds | None = None,
                model: DetectorModel | None = None, model_path: Path | None = None) -> list[Verdict]:
    """Verdicts for (text, subject) pairs; one model pass over all of them is what makes it fast."""
    detector = model or load_model(model_path)
    wholes = [(f"{subject}\n\n{text}".strip() if subject else text.strip()) or " " for text, subject in items]
    langs = [identify(whole).code for whole in wholes]
    chosen = thresholds or Thresholds()
    by_lang = {lang: chosen.resolve(detector, lang) for lang in set(langs)}
    limits_of = [by_lang[lang] for lang in langs]
    whole_probs = detector.probabilities(wholes)
    scores = [{label: round(float(whole_probs[label][i]), 3) for label in LABELS} for i in range(len(items))]
    # evidence only for the messages that carry a label: one more batched pass over their sentences
    over = [[label for label in LABELS if s[label] >= limits_of[i].of(label)] for i, s in enumerate(scores)]
    parts_of: dict[int, list[str]] = {i: sentences(wholes[i], langs[i]) or [wholes[i]]
                                      for i, o in enumerate(over) if o}
    flat = [p for i in sorted(parts_of) for p in parts_of[i]]
    sentence_probs = detector.probabilities(flat) if flat else {}
    verdicts = []
    offset = 0
    for i in range(len(items)):
        evidence: dict[str, tuple[str, ...]] = {label: () for label in LABELS}
        if i in parts_of:
            parts = parts_of[i]
            for label in over[i]:
                probs = [float(x) for x in sentence_probs[label][offset:offset + len(parts)]]
                ranked = sorted(range(len(parts)), key=lambda k: -probs[k])
                # sentences that carry the label on their own and stand near the strongest one
                floor = max(limits_of[i].of(label), probs[ranked[0]] - 0.25)
                keep = {k for k in ranked[:3] if probs[k] >= floor} or {ranked[0]}
                evidence[label] = tuple(parts[k][:300] for k in sorted(keep))  # in the client's order
            offset += len(parts)
        verdicts.append(_verdict(scores[i], evidence, over[i], limits_of[i], langs[i]))
    return verdicts


def _verdict(scores: dict[str, float], evidence: dict[str, tuple[str, ...]], over: list[str],
             limits: Thresholds, lang: str | None) -> Verdict:
    if not over:
        return Verdict("none", round(1.0 - max(scores.values()), 3), (), scores, evidence, lang)
    # the label furthest over its own threshold leads; the other stays in scores and evidence
    best = max(over, key=lambda lab: scores[lab] - limits.of(lab))
    chosen: Label = "complaint" if best == "complaint" else "anxiety"
    return Verdict(chosen, scores[best], evidence[best], scores, evidence, lang)
