"""Where a reply's own words end, and which of its lines are lines we sent. Pure.

Mail programs quote what they answer in many ways: with `>` marks; or, as Outlook
and HTML mail read as text do, with no mark at all, below a header block in the
reader's language ("From:/Sent:/To:/Subject:", "От:/Отправлено:/Кому:/Тема:",
"发件人:/发送时间:/收件人:/主题:", ...), an attribution line ("On ... wrote:",
"... kirjoitti:", "...写道："), a separator ("-----Original Message-----", a line
of underscores); or with nothing at all between the answer and the quote.
`own_text` cuts an unmarked quote at the first of these (and at a phone's footer line or a
company's confidentiality notice); `answers_below_quotes` reads a reply written below or
between `>`-marked quotes; `tagged_answers` finds the answers an author typed into a quote
after their initials ("[JH] ..."); `KnownLines` recognises the lines of messages we sent,
however they come back quoted, so that no line of ours can pass for the author's.
Everything here is linear in its input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from email import policy
from email.message import Message
from email.parser import BytesParser

from inscriptis import get_text

from service.mailformat.plain import BIDI_RE, lines_of

# the field names of quoted header blocks, as mail programs write them in their readers' languages:
# who wrote it ...
_FROM_LABELS = (
    "from", "von", "de", "da", "van", "od", "från", "fra", "от", "від", "发件人", "寄件者", "kimden",
    "gönderen", "lähettäjä", "差出人", "送信者", "보낸 사람", "feladó", "από", "de la", "afzender",
)
# ... and the rest of the block: when, to whom, about what
_OTHER_LABELS = (
    "sent", "date", "to", "subject", "cc", "bcc", "reply-to",
    "gesendet", "datum", "an", "betreff", "kopie",
    "envoyé", "à", "a", "objet",
    "enviado", "enviado el", "enviada", "enviada em", "enviado em", "fecha", "para", "asunto", "assunto",
    "inviato", "data", "oggetto",
    "verzonden", "aan", "onderwerp",
    "wysłano", "do", "temat", "dw", "kopia",
    "skickat", "till", "ämne",
    "sendt", "dato", "til", "emne",
    "отправлено", "дата", "кому", "тема", "копия", "надіслано",
    "发送时间", "日期", "收件人", "主题", "抄送", "寄件日期", "收件者", "主旨", "副本",
    "gönderildi", "tarih", "kime", "konu", "bilgi",
    "lähetetty", "päivämäärä", "vastaanottaja", "aihe", "kopio",
    "送信日時", "日付", "宛先", "件名",
    "보낸 날짜", "받는 사람", "제목", "참조",
    "elküldve", "címzett", "tárgy", "στάλθηκε", "προς", "θέμα", "odesláno", "komu", "předmět",
)


def _labels(names: Iterable[str]) -> str:
    ordered = sorted(set(names), key=len, reverse=True)  # the longest first: "enviado el" before "enviado"
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in ordered)


# "From: x", "*From:* x", "De : x", "发件人：x"; the label ends at a colon, half- or full-width. The runs of
# spaces are possessive: greedy ones gave each other back a line of spaces cubically (46 s for 8,000)
_LABEL_RE = re.compile(rf"^[ \t]*+\*{{0,2}}[ \t]*+(?:(?P<from>{_labels(_FROM_LABELS)})|{_labels(_OTHER_LABELS)})"
                       r"[ \t]*+\*{0,2}[ \t]*+[:：]", re.IGNORECASE)
# the verb of an attribution line ("On ..., Care <care@...> wrote:"), in the languages above
_WROTE_RE = re.compile(
    r"(?:wrote|writes|schrieb|a écrit|escribió|ha escrito|ha scritto|schreef|escreveu|napisał\(a\)|napisała|"
    r"napisał|skrev|kirjoitti|yazdı|написал\(а\)|написала|написал|пишет|napsal\(a\)|napsal|írta|έγραψε|"
    r"写道|寫道|のメッセージ|님이 작성)", re.IGNORECASE)
# Apple Mail's Dutch and some German programs' perfect tense ("Op 2 dec. 2026 om 10:14 heeft Jan het volgende
# geschreven:"): a client writes "ik heb u gisteren geschreven:" too, so only with the attribution's clock time
_WROTE_PERFECT_RE = re.compile(r"\b(?:geschrieben|geschreven)\s*:$", re.IGNORECASE)
_CLOCK_RE = re.compile(r"\b\d{1,2}:\d{2}\b")
# a person speaking or spoken to: "here is what I wrote to you:", "wie Sie geschrieben haben:", "je vous ai
# écrit :" are a client's own words, and the text below them is theirs too (the article "le", the Italian
# article "i" are not in the list; the English "I" is matched by case)
_PERSONAL_RE = re.compile(
    r"\b(?:me|my|mine|we|us|our|you|your|ich|mir|mich|mein|meine|wir|uns|unser|sie|du|dir|dich|ihnen|"
    r"je|j|moi|mon|ma|mes|nous|notre|vous|votre|tu|toi|yo|mi|te|nosotros|nuestro|usted|ustedes|su|io|noi|"
    r"voi|lei|ti|ik|mij|mijn|wij|jij|jullie|ons|onze|eu|nós|você|vocês|meu|minha|lhe)\b", re.IGNORECASE)
_FIRST_PERSON_I_RE = re.compile(r"\bI\b")
_ADDRESS_WORD_RE = re.compile(r"\S{0,200}@\S{0,200}")
_BRACKETED_ADDRESS_RE = re.compile(r"[<(\[][^<>()\[\]\s]{1,200}@[^<>()\[\]\s]{1,200}[>)\]]")
# a mail program's line under the words ("Sent from my iPhone", "Von meinem iPhone gesendet", "Envoyé à partir de
# Outlook pour Android", "Verzonden vanaf mijn Samsung Galaxy-smartphone."): the author's words end above it
_DEVICE = (r"(?:iphone|ipad|android|samsung|galaxy|outlook|mobile|smartphone|huawei|xiaomi|blackberry|handy|"
           r"mobiel|portable|m[óo]vil|celular|cellulare|telem[óo]vel|telefoon|t[ée]l[ée]phone|tablet|windows|"
           r"yahoo mail|gmail)")
_DEVICE_FOOTER_RE = re.compile(
    r"^[ \t]*+(?:(?:sent|envoy[ée]|enviad[oa]|inviato|verzonden|verstuurd|gesendet)[ \t]+(?:from|de|desde|do|da|dal|"
    rf"dalla|vanaf|via|met|mit|à partir de|a partir de|with|von)\b[^\n]{{0,40}}?\b{_DEVICE}|von meinem[ \t]+{_DEVICE}"
    r"|(?:get|obtenir|obt[ée]n|scarica|baixe|download|haal)[ \t]+outlook[ \t]+(?:for|pour|para|per|voor|f[üu]r)"
    r")\b[^\n]{0,40}$", re.IGNORECASE)
# the confidentiality notice or the "think before printing" line companies put under a signature, in the seven
# languages: its "error", "prohibited", "illegal" are nobody's complaint, and the author's words are above it
_DISCLAIMER_RE = re.compile(
    r"^[ \t*_]*+(?:confidentiality notice|disclaimer|legal notice|avertissement|vertraulichkeitshinweis|"
    r"haftungsausschluss|aviso legal|aviso de confidencialidad|avviso di riservatezza|aviso de confidencialidade|"
    r"please consider the environment|pensez [àa] l'environnement|bitte denken sie an die umwelt|prima di stampare|"
    r"denk aan het milieu|antes de imprimir|avant d'imprimer|"
    # "this message (and its attachments) is confidential / may contain / is intended for": the sentence's
    # subject, then what only a notice says
    r"(?:this|ce|le pr[ée]sent|diese|este|esta|questo|questa|dit|the information (?:contained )?in this|"
    r"les informations contenues dans ce|die informationen in dieser|la informaci[óo]n contenida en este|"
    r"(?:le )?informazioni contenute nel(?:la)?(?: presente)?|de informatie in dit|a informa[çc][ãa]o contida nest[ae])"
    r"[ \t]+(?:e-?mail|message|communication|courriel|nachricht|mensaje|correo|comunicazione|messaggio|"
    r"e-?mailbericht|bericht|mensagem)[^\n]{0,60}?[ \t]+(?:(?:is|are|sind|ist|est|sont|es|son|[èe]|sono|zijn|"
    r"[ée]|s[ãa]o)[ \t]+(?:strictly |strictement |streng |strettamente |estrictamente )?(?:confidential|"
    r"privileged|intended|vertraulich|ausschlie[sß]lich|confidentiel|destin[ée]|r[ée]serv[ée]|confidenci|"
    r"privad|dirigid|riservat|confidenzial|destinat|vertrouwelijk|uitsluitend|bestemd|destinad)|"
    r"(?:may contain|contains? (?:confidential|privileged)|peut contenir|contient des informations|"
    r"enth[äa]lt vertrauliche|kann vertrauliche|puede contener|contiene informaci[óo]n|pu[òo] contenere|"
    r"contiene informazioni|kan vertrouwelijke|bevat vertrouwelijke|pode conter|cont[ée]m informa)))", re.IGNORECASE)
# a notice sits at the end: a line that opens like one with more than this many lines of words below it is the
# author's ("This message is intended for the billing team: you charged me twice ...")
_NOTICE_LINES_MAX = 12
_TOKEN_START_RE = re.compile(r"^\s*\[?#?C-\d", re.IGNORECASE)  # a concern's command line is never a quote's head
_SEPARATOR_CHARS = frozenset("-_=—–~*")
_BLOCK_WINDOW = 8  # a header block's fields are this close together (wrapped To/Cc lists in between)


def _marked(line: str) -> bool:
    return line.lstrip().startswith(">")


def _separator(line: str) -> bool:
    """A run of dashes or underscores, with or without words between: "-----Original Message-----"."""
    s = line.strip()
    if s in {"--", "-- "}:
        return True  # the signature separator
    return len(s) >= 6 and set(s[:3]) <= _SEPARATOR_CHARS and set(s[-3:]) <= _SEPARATOR_CHARS


def _attribution_line(line: str) -> bool:
    """ "On Wed, 25 Nov 2026, Care <care@example.test> wrote:" and its kin in other languages; not a line a
    person says ("here is what I wrote to you:"), nor a concern's command line."""
    s = line.strip()
    if not s.endswith((":", "：")) or _TOKEN_START_RE.match(s):
        return False
    if _BRACKETED_ADDRESS_RE.search(s):
        return True
    if not (_WROTE_RE.search(s[-40:]) or (_WROTE_PERFECT_RE.search(s[-20:]) and _CLOCK_RE.search(s[:300]))):
        return False
    words = _ADDRESS_WORD_RE.sub(" ", s[:300])
    return not (_PERSONAL_RE.search(words) or _FIRST_PERSON_I_RE.search(words))


def _next_words(lines: list[str], k: int) -> str:
    """The first line with words below line k, within a header block's reach ("" if none)."""
    return next((line for line in lines[k + 1:k + 1 + _BLOCK_WINDOW] if line.strip()), "")


def _attribution(lines: list[str], k: int) -> bool:
    """An attribution line with the quote it introduces below it unmarked (a `>`-marked quote is the reader's
    to skip, and answers between its lines stay)."""
    if not _attribution_line(lines[k]):
        return False
    below = _next_words(lines, k)
    return not _marked(below) and not _TOKEN_START_RE.match(below)


def _header_block_at(lines: list[str], k: int) -> bool:
    """Whether a quoted header block starts at line k: a field line and at least one more close below,
    with a From among them (or three fields: some programs put Subject and Date first)."""
    first = _LABEL_RE.match(lines[k])
    if first is None or _marked(lines[k]):
        return False
    fields, has_from = 1, first.group("from") is not None
    for line in lines[k + 1:k + _BLOCK_WINDOW]:
        found = _LABEL_RE.match(line)
        if found:
            fields += 1
            has_from = has_from or found.group("from") is not None
    return fields >= 2 and (has_from or fields >= 3)


def own_text(text: str) -> str:
    """The reply's own part: `text` up to the first unmarked quote's head (a header block, an attribution
    line, a separator). An attribution whose quote is `>`-marked is left, so answers between the marked
    lines stay; the marked lines themselves are the reader's to skip."""
    lines = lines_of(text)
    following = [0] * len(lines)  # how many lines with words follow each line
    count = 0
    for k in range(len(lines) - 1, -1, -1):
        following[k] = count
        count += bool(lines[k].strip())
    for k, line in enumerate(lines):
        if _marked(line) or not line.strip():
            continue
        if _separator(line) or _header_block_at(lines, k) or (len(line) <= 120 and _DEVICE_FOOTER_RE.match(line)) \
                or (k > 0 and following[k] <= _NOTICE_LINES_MAX and _DISCLAIMER_RE.match(line)):
            return "\n".join(lines[:k])
        if _attribution(lines, k):
            # Gmail wraps a long attribution inside the address: "On ..., Care <" / "care@...> wrote:"
            wrapped = k > 0 and lines[k - 1].rstrip().endswith(("<", "(", "[")) and not _marked(lines[k - 1])
            return "\n".join(lines[:k - 1 if wrapped else k])
    return "\n".join(lines)


# "[JV: Daar ben ik het niet mee eens.]", "[HF] Nein.", "--> Tampoco.": answers an Outlook user types into the
# quote, tagged with their initials or an arrow (never one letter: our reminders tick items "[x] Passport")
_TAGGED_RE = re.compile(r"^[ \t]*+(?:\[([A-Za-zÀ-ÿ]{2,4})(?:\]|:)|(?:-{1,3}>|=>|→)[ \t])")


def tagged_answers(text: str) -> list[str]:
    """The author's answers typed inside a quote, each tagged with the same initials (twice at least, so a
    one-off "[EN]" or "[PDF]" in the quoted text is not taken for one)."""
    tagged = [((m.group(1) or "->").upper(), line.strip()) for line in lines_of(text)[:5000]
              if (m := _TAGGED_RE.match(line))]
    if not tagged:
        return []
    initials = max(sorted({t for t, _ in tagged}), key=lambda t: sum(1 for u, _ in tagged if u == t))
    mine = [line for t, line in tagged if t == initials]
    return mine if len(mine) >= 2 else []


# a mail gateway's warning above the words: "[EXTERNAL] This email originated from outside the organisation";
# nobody's complaint, though it says "do not click" and "suspicious"
_BANNER_RE = re.compile(
    r"^[ \t*\[(]*+(?:external|externo|externa|extern|externe|esterno|esterna|caution|attention|achtung|"
    r"atenci[óo]n|attenzione|let op|aten[çc][ãa]o|warning|aviso|avviso|waarschuwing)\b[^\n]{0,200}?"
    r"(?:outside|external|extern|fuera|fora|esterno|buiten|l'ext[ée]rieur|au[sß]erhalb)[^\n]{0,60}?"
    r"(?:organi[sz]ation|organizaci[óo]n|organiza[çc][ãa]o|organizzazione|organisatie|unternehmen|organisation|"
    r"company|empresa|azienda|entreprise|bedrijf|firma)", re.IGNORECASE)


def without_banner(text: str) -> str:
    """`text` without a mail gateway's external-sender warning in its first lines."""
    lines = lines_of(text)
    top = [k for k, line in enumerate(lines[:12]) if line.strip()][:3]
    banner = {k for k in top if len(lines[k]) <= 400 and _BANNER_RE.match(lines[k])}
    return "\n".join(line for k, line in enumerate(lines) if k not in banner) if banner else text


def answers_below_quotes(text: str) -> str | None:
    """A reply written below or between `>`-marked quotes (bottom-posted, or answered point by point): its
    unmarked lines, without the attribution lines that introduce the quotes, cut at the first unmarked quote
    head after them; None when nothing unmarked follows a marked line, or an unmarked quote comes first (an
    Outlook header block over older marked lines is a top-posted reply's history)."""
    lines = lines_of(text)
    first = next((k for k, line in enumerate(lines) if _marked(line)), None)
    if first is None or not any(line.strip() and not _marked(line) for line in lines[first:]):
        return None
    head = len(lines_of(own_text("\n".join(lines[:first + 1]))))
    if head < first + 1 and any(line.strip() and not _head_line(lines, k) for k, line in
                                enumerate(lines[head:first], start=head)):
        return None  # prose between a quote head and the marked lines: a top-posted reply's history
    kept: list[str] = []
    for k, line in enumerate(lines):
        if head <= k < first or _marked(line) or _introduces_marked(lines, k) or _wrapped_quote(lines, k):
            continue
        if line.strip() or (kept and kept[-1].strip()):  # one blank line where a quote stood between answers
            kept.append(line)
    return own_text("\n".join(kept))


def _wrapped_quote(lines: list[str], k: int) -> bool:
    """Whether line k is the end of a long quoted line that a mail program broke without its mark: right
    under a long `>` line, starting in lower case ("> ... and we\nwill refund you.")."""
    s = lines[k].lstrip()
    return k > 0 and _marked(lines[k - 1]) and len(lines[k - 1]) >= 60 and s[:1].islower()


def _head_line(lines: list[str], k: int) -> bool:
    """A line of a quote head: a separator, a header field, a wrapped address list, an attribution."""
    line = lines[k]
    return _separator(line) or bool(_LABEL_RE.match(line)) or "@" in line or _introduces_marked(lines, k) \
        or _attribution(lines, k)


def _introduces_marked(lines: list[str], k: int) -> bool:
    """Whether line k is the attribution of the `>`-marked quote right below it ("Le 18/03/2025 12:40, X a écrit :")."""
    return _marked(_next_words(lines, k)) and _attribution_line(lines[k])


# -- lines we sent ------------------------------------------------------------------------------

_FOLD = str.maketrans({
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": "'",
    "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "·": " ", "•": " ", "*": " ", "\u200b": "",
    "\ufeff": "",
})
_PREFIX_RE = re.compile(r"^[\s>|]*")


def normal_line(line: str) -> str:
    """A line as compared with the lines we sent: quote marks and indentation gone, whitespace, case,
    typographic quotes and dashes, bold stars and compatibility forms folded."""
    folded = BIDI_RE.sub("", unicodedata.normalize("NFKC", line)).translate(_FOLD)
    return " ".join(_PREFIX_RE.sub("", folded).split()).casefold()


class KnownLines:
    """The lines of messages we sent (digests and alerts), to recognise them quoted back in a reply."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for text in texts:
            # split both ways: a mail program may have broken our lines at U+2028 and its kin too
            for line in (*lines_of(text), *text.splitlines()):
                if normal := normal_line(line):
                    found.add(normal)
        self._lines = frozenset(found)
        self._blob = "\n" + "\n".join(sorted(found)) + "\n"

    def __bool__(self) -> bool:
        return bool(self._lines)

    def sent(self, line: str) -> bool:
        """Whether `line` is one of ours, whole."""
        return normal_line(line) in self._lines

    def inside(self, line: str) -> bool:
        """Whether `line` is a run of whole words from inside one of ours, after its start: what is left
        of a line of ours that a mail program wrapped (its first piece starts as our line did)."""
        normal = normal_line(line)
        return bool(normal) and any(f" {normal}{end}" in self._blob for end in " \n")

    def piece(self, line: str) -> bool:
        """Whether `line` is one of ours or a run of whole words from one, its start included."""
        normal = normal_line(line)
        return bool(normal) and (normal in self._lines or any(
            f"{start}{normal}{end}" in self._blob for start in " \n" for end in " \n"))


def message_texts(raw: bytes) -> list[str]:
    """The text of each text part of a message we composed: the plain one, and the HTML one as text."""
    texts: list[str] = []
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        text = _decoded(part)
        texts.append(str(get_text(text)) if ctype == "text/html" else text)
    return texts


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")
