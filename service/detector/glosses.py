"""English glosses for the plain words of worry and complaint in the six other languages the detector reads.

The general reader learned its emotions from some 43,000 English comments: "worried" and
"unacceptable" weigh heavily there. The same feelings said plainly in French or Italian were learned
only from the project's few hundred emails a language, which say them mostly indirectly, so
"je suis assez inquiet" scored as calm. `gloss` writes the English word after each plain one
("inquiet worried"), so what the English data taught reaches every language, and the client-mail
reader learns the gloss from all seven languages at once.

Only unmistakable words are here: a word with an everyday calm sense is left out or fenced
("sorgen Sie dafür" is "make sure", "zorgen voor" is "take care of"). A negated word is not glossed:
`normalise` has already written it as "not_inquiet", which no pattern matches.
"""

from __future__ import annotations

import re

# the English word each group stands for -> word patterns (lower case, matched from a word's start)
_GLOSSES: dict[str, tuple[str, ...]] = {
    "worried": (
        r"preocup\w*+",                      # es, pt: preocupado, preocupa, preocupação
        r"inquiet\w*+", r"inquiét\w*+", r"inquièt\w*+",  # es inquieto; fr inquiet, inquiète, inquiéter
        r"angusti\w*+", r"angosci\w*+", r"angoiss\w*+",  # es, pt angustiado; it angosciato; fr angoissé
        r"aflit[oa]s?", r"ansios\w*+", r"ansia", r"soucieu\w*+",
        r"ansiedad\w*+", r"anxiét\w*+", r"anxieu(?:x|se\w*+)", r"angstig\w*+",  # the anxiety nouns
        r"preoccup\w*+", r"préoccup\w*+",     # it; fr préoccupé, me préoccupe
        r"agobi\w*+", r"intranquil\w*+", r"apreensiv\w*+",  # es agobiado, agobio; pt apreensivo
        r"besorgt\w*+", r"beunruhig\w*+", r"unruhig\w*+", r"mulmig\w*+", r"onrustig\w*+",  # de, nl
        r"sorgen?(?!\s++(?:sie|wir|ihr|du|dafür|für)\b)",  # de
        r"bezorgd\w*+", r"ongerust\w*+", r"zorgen(?!\s++(?:voor|dat|ervoor|we|wij|jullie)\b)",  # nl
    ),
    "afraid": (
        r"miedo", r"temor\w*+", r"tem[oe]", r"asustad\w*+",  # es (it "temo")
        r"temer", r"tememos", r"temiendo", r"temen",  # es, pt; not "temos", Portuguese "we have"
        r"medo", r"receio\w*+", r"receoso\w*+", r"assustad\w*+",  # pt
        r"peur\w*+", r"crain(?:s|t|te|tes|dre|drais)\b", r"effray\w*+",  # fr
        r"paura", r"timore", r"spaventat\w*+",  # it
        r"angst", r"ängstlich\w*+", r"befürcht\w*+", r"fürchte\w*+", r"graut", r"grauen", r"bange",  # de
        r"bang", r"vrees\w*+", r"vrezen",  # nl
        r"pánico", r"pânico", r"panico", r"paniqu\w*+", r"panik\w*+", r"paniek\w*+",  # panic in all six
    ),
    "nervous": (
        r"nervios(?:[oa]s?)?", r"nervos[oa]s?", r"nerveu\w*+", r"nervös\w*+", r"nerveus\w*+",
        r"zenuwachtig\w*+", r"agitat[oaie]", r"aufgeregt\w*+",
        r"estresad\w*+", r"stressé\w*+", r"stressat\w*+", r"gestresst\w*+", r"gestrest\w*+", r"stressad\w*+",
        r"estressad\w*+",
        r"stress(?:e|ent|er|ant|ante|antes|ants)",  # fr "je stresse"; not English "stresses"
    ),
    "unacceptable": (
        r"inaceptable\w*+", r"inadmisible\w*+", r"intolerable\w*+",  # es
        r"inaceitáve\w*+", r"inadmissíve\w*+",  # pt
        r"inacceptable\w*+", r"inadmissible\w*+", r"intolérable\w*+", r"scandaleu\w*+", r"honteu\w*+",  # fr
        r"inaccettabil\w*+", r"inammissibil\w*+", r"vergognos\w*+", r"scandalos\w*+",  # it
        r"inakzeptabel\w*+", r"unzumutbar\w*+", r"unverschämt\w*+", r"skandalös\w*+", r"frechheit",  # de
        r"onacceptabel\w*+", r"onaanvaardbaar\w*+", r"schandalig\w*+", r"belachelijk\w*+",  # nl
    ),
    "disappointed": (
        r"decepcion\w*+", r"defraudad\w*+", r"desilud\w*+",
        r"déçu\w*+", r"décevant\w*+", r"déception\w*+",
        r"delus[oaie]", r"deludent\w*+", r"delusion\w*+",
        r"enttäusch\w*+",
        r"teleurgesteld\w*+", r"teleurstell\w*+",
        # not satisfied
        r"insatisfech\w*+", r"insatisfeit\w*+", r"descontent\w*+", r"mécontent\w*+", r"insatisfait\w*+",
        r"insoddisfatt\w*+", r"unzufrieden\w*+", r"ontevreden\w*+",
    ),
    "terrible": (
        r"pésim\w*+", r"péssim\w*+", r"pessim[oaie]", r"lamentable\w*+", r"lamentáve\w*+",
        r"catastrófic\w*+", r"catastrofic\w*+", r"catastrophique\w*+", r"katastrophal\w*+",
        r"waardeloos\w*+", r"indignante\w*+", r"vergonzos\w*+", r"vergüenza", r"vergonha", r"vergogna",
        r"honte", r"zumutung", r"indecente",
    ),
    "angry": (
        r"enfadad\w*+", r"cabread\w*+", r"hart[oa]s?", r"indignad\w*+", r"furios\w*+",  # es (it, pt furioso)
        r"irritad\w*+", r"chatead\w*+", r"fart[oa]s?",  # pt
        r"énervé\w*+", r"furieu\w*+", r"colère", r"marre", r"agacé\w*+", r"excédé\w*+",  # fr
        r"arrabbiat\w*+", r"stuf[oie]", r"incazzat\w*+", r"seccat\w*+",  # it
        r"verärgert\w*+", r"wütend\w*+", r"stinksauer", r"genervt\w*+",  # de
        r"exaspéré\w*+", r"irrité\w*+", r"ärgerlich\w*+", r"indignat\w*+", r"irritat\w*+",
        r"geërgerd\w*+", r"ergerlijk\w*+",
        r"boos", r"woedend\w*+", r"kwaad", r"geïrriteerd\w*+", r"beu",  # nl
    ),
}

# one look-behind for every pattern: inside a word the match fails at once; every repeat is possessive,
# so nothing is read twice and the scan stays linear on any input (tests/unit/test_glosses.py)
_PATTERN = re.compile("(?<!\\w)(?:" + "|".join(f"(?P<{gloss}>(?:{'|'.join(words)})(?!\\w))"
                                             for gloss, words in _GLOSSES.items()) + ")")


# French negation opens before the verb ("ne vous inquiétez pas"), where `normalise` marks only
# what follows "pas": a word one or two words after "ne"/"n'" is not glossed
_FRENCH_NE_RE = re.compile(r"(?<!\w)n(?:e\s+|')(?:[\w]+(?:'|\s+)){0,2}$")


def _write(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 30):match.start()]
    if _FRENCH_NE_RE.search(before):
        return match.group(0)
    return f"{match.group(0)} {match.lastgroup}"


def gloss(text: str) -> str:
    """`text` (already lower case) with the English gloss written after each plain word of feeling."""
    return _PATTERN.sub(_write, text)
