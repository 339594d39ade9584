"""Whether a subject marks the mail urgent, in en/es/de/fr/it/nl/pt. Pure.

Read on the folded subject (lower case, accents dropped) by the stems people mark urgency with:
"urgent", "urgentísimo", "urge", "dringend", "spoed", "ASAP", "prioridad alta", "zsm", "crítico",
"al più presto". A subject that says the opposite ("no es urgente", "keine Eile", "sin prisa") is not
urgent, whatever else it says.
"""

from __future__ import annotations

import re

from service.core.stop_text import fold

SUBJECT_CHARS = 300  # a subject marks its urgency near its start

_URGENT_RE = re.compile(
    r"\b(?:"
    r"urg\w*|asap|a\.s\.a\.p|emergenc\w*|emergenz\w*|immediate\w*|time[- ]sensitive|top priority|"
    r"high priority|priority 1|prio 1|p1|critical|right away|straight away|"
    r"inmediat\w*|cuanto antes|lo antes posible|a la brevedad|apremi\w*|prioridad alta|alta prioridad|"
    r"prioritai?r\w*|critico|pressant\w*|sos|avant ce soir|before tonight|en priorite|con priorita|"
    r"con prioridad|met prioriteit|com prioridade|"
    r"dringend\w*|eilt|eilig\w*|sofort\w*|umgehend\w*|notfall|schnellstmoglich|schnellstens|"
    r"so schnell wie moglich|hohe prioritat|kritisch\w*|"
    r"immediat\w*|au plus vite|au plus tot|des que possible|le plus vite possible|priorite haute|"
    r"haute priorite|critique|"
    r"al piu presto|quanto prima|priorita alta|alta priorita|"
    r"spoed\w*|zsm|zo snel mogelijk|onmiddellijk|hoge prioriteit|met voorrang|kritiek|noodgeval|"
    r"imediat\w*|o quanto antes|o mais rapido possivel|prioridade alta|alta prioridade|"
    r"o mais breve possivel|com a maior brevidade|"
    r"can'?t wait|cannot wait|no puede esperar|kann nicht warten|ne peut pas attendre|non puo aspettare|"
    r"kan niet wachten|nao pode esperar|zeitkritisch|time[- ]critical|heute noch|bis heute|vandaag nog|"
    r"hoy mismo|aujourd'hui meme|oggi stesso|ainda hoje|hoje ainda|eod|by noon|by end of (?:the )?day|"
    r"need(?:ed)? (?:\w+ ){0,3}today|"
    # a deadline today or a reply by a clock time: "Resposta até às 17h", "reply by 5pm", "Antwort bis 12 Uhr"
    r"(?:deadline|prazo(?: final)?|plazo|frist|delai|scadenza) (?:\w+ )?(?:today|hoje|hoy|heute|aujourd'hui|oggi|"
    r"vandaag)|(?:by|before|ate|hasta|bis|avant|entro|voor) (?:as |las |a |les |le ore )?\d{1,2} ?(?:h|:\d\d|am|pm|uhr)"
    r")\b")
# "not urgent", "no rush", "keine Eile": the writer says it can wait
_CALM_RE = re.compile(
    r"\b(?:not urgent|non[- ]urgent|no rush|no hurry|nothing urgent|no urgency|"
    r"no (?:es|era) urgente|nada urgente|sin prisa|sin urgencia|"
    r"nicht dringend|keine eile|nichts dringendes|"
    r"pas urgent|rien d'urgent|pas presse|"
    r"non (?:e )?urgente|niente di urgente|nessuna fretta|senza fretta|"
    r"niet dringend|geen haast|geen spoed|"
    r"nao (?:e )?urgente|sem pressa|nada urgente)\b")


# "PRIORITY: ...", "Prioridad - ...": a subject that opens with its priority; "!!" anywhere
_FLAGGED_RE = re.compile(r"^(?:priority|prioridad|prioritat|priorite|priorita|prioriteit|prioridade)\s*[:!-]|!!")


def marked_urgent(subject: str) -> bool:
    """Does the subject mark the mail urgent (and not say that it can wait)?"""
    key = " ".join(fold(subject[:SUBJECT_CHARS]).split())
    return bool(_URGENT_RE.search(key) or _FLAGGED_RE.search(key)) and not _CALM_RE.search(key)
