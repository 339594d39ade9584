"""The courteous frame of an email, taken out before the detector reads it: the greeting and the closing.

Nearly every client email opens "Hi Sarah," and closes "Thanks so much, / Paul", worried or calm. In a
short email the frame is most of the words, and thanks is what calm mail says most: "Hi Sarah, / I'm a
bit anxious about the audit on Tuesday. / Thanks so much, / Paul" scored 0.10 for worry, the sentence
alone 0.44. The reply parser cuts some closings ("Thanks,", "Gracias,", "Bedankt,") and not others
("Merci,", "Danke und viele Grüße", "Thanks so much,"), so the frame weighed differently in each
language. Here the frame of all seven languages goes, in training and in the service alike.

Only lines that are nothing but the formula go, with the short signature lines under a closing:
"Thanks for nothing." and "Merci de me rappeler avant lundi." are words of their own and stay.
Each line is looked at only when short (`_LINE_MAX`), and only the first and the last few: linear.
"""

from __future__ import annotations

import re

_LINE_MAX = 60
# a closing's signature: name, title, company, phone; a longer tail means the closing was not the end
_SIGNATURE_LINES = 5
_SIGNATURE_WORDS = 8

# greetings that are nothing else
_GREETINGS = (
    r"hi|hello|hey|hiya|good\s+(?:morning|afternoon|evening)|greetings",  # en
    r"hola|buen[oa]s\s+(?:d[ií]as|tardes|noches)",  # es
    r"ol[áa]|oi|bom\s+dia|boa\s+(?:tarde|noite)",  # pt
    r"bonjour|bonsoir|salut|coucou",  # fr
    r"hallo|guten\s+(?:tag|morgen|abend)|moin|servus|gr[üu](?:ß|ss)\s+gott|gr[üu]ezi",  # de
    r"buongiorno|buonasera|buon\s+pomeriggio|ciao|salve",  # it
    r"hoi|goedemorgen|goedemiddag|goedenavond",  # nl
)
# greetings that are also everyday words ("Caro demais", "Morning meeting moved", "Liebe"): read as one
# only before a capitalised name or title ("Caro Marco,"), or as a line of their own
_ADDRESSES = (
    r"dear|morning|buenas|estimad[oa]s?|querid[oa]s?|car[oa]s?|prezad[oa]s?|exm[oa]s?\.?",
    r"cher|ch[èe]re|chers|ch[èe]res|madame|monsieur|mesdames|sehr\s+geehrte[rn]?|liebe[rn]?",
    r"gentil[ei]|egregi[oa]|spett\.?le|hai|beste|geachte|dag|hee",
)
# thanks and regards, which may run on for a few words ("Thanks again,", "Danke und viele Grüße")
_THANKS = (
    r"(?:many\s+|big\s+)?thanks|thank\s+you|thx|(?:best|kind|warm|warmest|many)\s+regards|regards",  # en
    r"(?:muchas\s+|mil\s+)?gracias|saludos|un\s+saludo|atentamente|cordialmente",  # es
    r"(?:muito\s+)?obrigad[oa]|(?:com\s+os\s+)?(?:melhores\s+)?cumprimentos|atenciosamente",  # pt
    r"merci|(?:bien\s+)?cordialement|(?:sinc[èe]res\s+)?salutations",  # fr
    r"danke|vielen\s+dank|(?:viele|beste|liebe|freundliche|herzliche|sch[öo]ne)\s+gr[üu](?:ß|ss)e"
    r"|mit\s+freundlichen\s+gr[üu](?:ß|ss)en",  # de
    r"grazie|(?:cordiali|distinti)\s+saluti|un\s+saluto",  # it
    r"(?:alvast\s+)?bedankt|dank\s+(?:je|u)(?:\s+wel)?|dankjewel"
    r"|(?:met\s+)?(?:vriendelijke|hartelijke)\s+groet(?:en)?",  # nl
)
# formulas that are also everyday words ("Best case...", "Yours is broken"): a line of their own only
_ALONE = (
    r"best|cheers|all\s+the\s+best|sincerely|yours\s+(?:sincerely|faithfully|truly)|speak\s+soon|talk\s+soon"
    r"|rgds|br|kr",  # en
    r"un\s+abrazo|abrazos|besos|quedo\s+atent[oa]|slds",  # es
    r"abra[çc]os?|beijos?|grat[oa]|att\.?|sauda[çc][õo]es",  # pt
    r"bien\s+[àa]\s+(?:vous|toi)|bonne\s+(?:journ[ée]e|soir[ée]e)|belle\s+journ[ée]e|[àa]\s+bient[ôo]t"
    r"|amicalement|bises",  # fr
    r"gru(?:ß|ss)|gr[üu](?:ß|ss)e|lg|mfg|vg|bis\s+bald",  # de
    r"saluti|a\s+presto|buona\s+giornata|un\s+abbraccio|ciao",  # it
    r"groet(?:en|jes)?|mvg|gr|tot\s+ziens",  # nl
)
# each list as one alternation
_ANY_GREETING = rf"(?i:{'|'.join(_GREETINGS)})"
_ANY_ADDRESS = rf"(?i:{'|'.join(_ADDRESSES)})"
_ANY_THANKS = "|".join(_THANKS)
_ANY_CLOSING = "|".join(_THANKS + _ALONE)
_WORD = r"[^\W\d][\w.'’-]*+"
_NAME = r"[^\W\d\sa-zà-ÿ][\w.'’-]*+"  # capitalised: a name or a title (the patterns match case)
# the lower-case words of an address: "hi all", "Sehr geehrte Damen und Herren", "Geachte heer Jansen"
_ADDRESS_WORDS = (r"(?i:all|team|everyone|folks|guys|there|sir|madam|and|y|e|et|und|en|a|à|todos|todas|tous"
                  r"|tout|le|la|monde|zusammen|tutti|iedereen|allemaal|chicos|equipo|equipa|pessoal|gente"
                  r"|heer|mevrouw|meneer|frau|herr|señor|señora|senhor|senhora|signor|signora|dott\.?|dr\.?)\b")
_ADDRESS = rf"(?:\s+(?:{_NAME}|{_ADDRESS_WORDS})){{1,4}}"
# a greeting, then a name, an address, or one word in lower case ("hi sarah,")
_GREETING = rf"{_ANY_GREETING}\b(?:{_ADDRESS}|\s+{_WORD})?"
_ADDRESSED = rf"{_ANY_ADDRESS}\b{_ADDRESS}"
# a line that is only a greeting ("Hello!", "Sehr geehrte Frau Dr. Berg", "Buenos días a todos:")
_GREETING_LINE_RE = re.compile(rf"(?:{_GREETING}|{_ADDRESSED}|{_ANY_ADDRESS})[^\w\n]*")
# a greeting that opens a longer line, ended by a comma or colon ("Hi Sarah, the audit on Tuesday..."),
# or a bare greeting's "!" ("Hi! The audit...")
_GREETING_START_RE = re.compile(rf"(?:(?:{_GREETING}|{_ADDRESSED})\s*[,:]|{_ANY_GREETING}\s*!)\s*")
# "thanks for nothing" in each language is a complaint, not a closing
_SARCASM = r"(?!\W+(?:for|por|für|pour|per|voor|pelo|pela)\s+(?:nothing|nada|nichts|rien|niente|nulla|niets)\b)"
_CLOSING_WORD = r"[^\W\d][\w'’-]*+"  # no full stop: "Danke für nichts." ends a sentence
# a closing alone ("Thanks!", "Cheers,") or, for thanks and regards, with up to four words and no
# sentence end ("Thanks again,", "Merci d'avance,", "Danke und viele Grüße", "Thanks, Paul")
_CLOSING_LINE_RE = re.compile(
    rf"(?:(?:{_ANY_CLOSING})\b[^\w\n]*|(?:{_ANY_THANKS})\b{_SARCASM}(?:[\s,]+{_CLOSING_WORD}){{1,4}}[\s,]*)",
    re.IGNORECASE)


def without_courtesies(text: str) -> str:
    """`text` without a greeting line among its first two and a closing among its last lines.

    Text that is nothing but courtesy ("Thanks!") is returned as it is.
    """
    lines = text.split("\n")
    filled = [k for k, line in enumerate(lines) if line.strip()]
    for k in filled[:2]:  # the subject may come first
        line = lines[k].strip()
        if len(line) > _LINE_MAX:
            continue
        if _GREETING_LINE_RE.fullmatch(line):
            lines[k] = ""
            break
        start = _GREETING_START_RE.match(line)
        if start and start.end() < len(line):
            lines[k] = line[start.end():]
            break
    for position in range(len(filled) - 1, max(len(filled) - 2 - _SIGNATURE_LINES, -1), -1):
        k = filled[position]
        line = lines[k].strip()
        if len(line) <= _LINE_MAX and _CLOSING_LINE_RE.fullmatch(line):
            if all(len(lines[j].split()) <= _SIGNATURE_WORDS for j in filled[position + 1:]):
                del lines[k:]
            break
    left = "\n".join(lines)
    return left if left.strip() else text
