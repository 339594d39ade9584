"""Machine mail that carries no RFC 3834 header: out-of-office subjects, plain-text bounces, Exchange's marks.

Pure and linear: every pattern here is anchored at the start of a subject of
bounded length, or a set lookup. A subject is read the way mail programs
write it: Outlook's and Exchange's localised prefixes ("Automatic reply: ",
"Automatische Antwort: ", "Réponse automatique : "), Gmail and Sieve vacation
forms ("Vacation reply", "Auto: Re: ..."), tags ("[Auto-Reply]"), and
absence notes ("Out of Office until 3 May", "Afwezig t/m 12 augustus").

A person's subject must never be taken for a machine's: a phrase counts only
at the very start (so "Re: your automatic reply is useless" is a person's), a
form that a person might begin a sentence with counts only when what follows
is what a machine puts there (a separator and our own subject, a date, or
nothing), and bounce wording counts only from a delivery daemon's address or
name, or as the exact titles mail servers give their bounces.
"""

from __future__ import annotations

import re
import unicodedata

SUBJECT_LIMIT = 2000  # what is read of a subject: every form below is at its start

# "automatic reply" as mail programs write it, in the languages of Outlook, Exchange and Gmail
_AUTOMATIC_REPLY = (
    r"auto(?:matic)?[- _]?(?:reply|response|answer|responder)",
    r"out of (?:the )?office[- ]auto[- ]?reply", r"vacation (?:auto[- ]?)?(?:reply|response|responder)",
    r"holiday (?:auto[- ]?)?(?:reply|response)", r"away (?:auto[- ]?)?reply",
    r"automatische antwort", r"abwesenheits(?:notiz|nachricht|meldung|benachrichtigung)",
    r"automatische (?:abwesenheits)?(?:nachricht|benachrichtigung)",
    r"r[ée]ponse automatique(?: d'absence)?", r"message d'absence",
    r"respuesta autom[áa]tica(?: de fuera de la oficina)?", r"resposta autom[áàa]tica",
    r"accus[ée] de r[ée]ception automatique", r"automatic acknowledge?ment", r"acuse de recibo autom[áa]tico",
    r"automatische eingangsbest[äa]tigung", r"conferma di ricezione automatica",
    r"afwezigheidsmelding", r"afwezigheidsbericht", r"mensaje de ausencia", r"messaggio di assenza",
    r"mensagem de aus[êe]ncia",
    r"automatische ontvangstbevestiging", r"confirma[çc][ãa]o autom[áa]tica de rece[çc][ãa]o",
    r"mensagem autom[áa]tica", r"mensaje autom[áa]tico", r"message automatique", r"messaggio automatico",
    r"automatische nachricht", r"automat(?:ed|ic) message",
    r"risposta automatica", r"automatisch antwoord", r"automatisch bericht", r"automatische reactie",
    r"automatiskt svar", r"automatisk svar", r"autosvar", r"fr[åa]nvaromeddelande", r"frav[æa]rsmelding",
    r"automaattinen vastaus", r"automaattivastaus", r"poissaolo(?:ilmoitus|viesti)",
    r"automatyczna odpowied[źz]", r"odpowied[źz] automatyczna", r"autoodpowied[źz]",
    r"automatick[áa] odpov[ěe][ďd]", r"automatick[áa] odpove[ďd]",
    r"автоматический ответ", r"автоответ", r"автоматична відповідь", r"автоматичен отговор",
    r"otomatik (?:yan[ıi]t|cevap)", r"automatikus v[áa]lasz", r"r[ăa]spuns automat", r"automatski odgovor",
    r"samodejni odgovor", r"αυτόματη απάντηση", r"automaatne vastus", r"autom[āa]tisk[āa] atbilde",
    r"automatinis atsakymas", r"sj[áa]lfvirkt svar", r"balasan otomatis", r"tr[ảa] l[ờo]i t[ựu] [đd][ộo]ng",
    r"自動応答", r"自動返信", r"自动回复", r"自动答复", r"自動回覆", r"自動回復", r"자동 ?회신", r"자동 ?응답",
    r"תשובה אוטומטית", r"رد تلقائي", r"ตอบกลับอัตโนมัติ",
)
# "out of the office": a prefix too ("Out of Office: <subject>"), but no phrase a person starts a subject with
_OUT_OF_OFFICE = (
    r"out of (?:the )?office", r"ooo", r"nicht im b(?:ü|ue)ro", r"ausser haus",
    r"absente? du bureau", r"absence du bureau", r"hors du bureau", r"fuera de (?:la )?oficina",
    r"fora do escrit[óo]rio", r"fuori (?:sede|ufficio)", r"niet op kantoor", r"ej p[åa] kontoret",
    r"ikke p[åa] kontoret", r"poissa toimistolta", r"poza biurem", r"mimo kancel[áa][řr]", r"вне офиса",
)
# "away", which a person could also begin a subject with ("Ausente el técnico..."): only with a date or nothing
_ABSENT = (
    r"on vacation", r"on holiday", r"on leave", r"away from (?:the )?office", r"abwesend", r"abwesenheit",
    r"absence", r"assenza", r"ausencia", r"aus[êe]ncia(?: do escrit[óo]rio)?", r"afwezigheid", r"niet aanwezig",
    r"en dehors du bureau",
    r"im urlaub", r"urlaub", r"en cong[ée]s?", r"absente?",
    r"ausente", r"assente", r"afwezig", r"fr[åa]nvaro", r"fr[åa]nvarande", r"frav[æa]rende", r"frav[æa]r",
    r"poissa", r"lomalla", r"nieobecno[śs][ćc]", r"nieobecn[ya]", r"nep[řr][íi]tomnost", r"nep[řr][íi]tomn[ýáa]",
    r"в отпуске", r"отсутствую", r"ofiste değil(?:im)?", r"izinde(?:yim)?",
)
# what a machine puts after "Out of Office": until when, from when, which week
_UNTIL = (r"(?:until|till|til|through|thru|back|returning|bis|jusqu|hasta|at[ée]|fino|tot|t/m|t\.m\.|t\.o\.m\.|"
          r"asti|alkaen|до)(?!\w)|(?:from|vom|ab|du|au|del|desde|dal|van|fra|od|do|с|по|v\.|vecka|uke|uge|week|kw)\s*\d|\d")
# the prefixes a reply's subject starts with, in the languages above
_REPLY = r"(?:re|aw|sv|vs|fw|fwd|wg|tr|rv|ref|antw|odp|ynt|отв|回复|答复|回覆|返信|رد)\s*(?:\[\d+\])?\s*:"
_OPEN = "[(<*\"'«「【"
_CLOSE = "])>*\"'»」】"
_SEPARATOR = ":-–—(/|"  # what follows a prefix ("Automatic reply: ", "Out of Office - ")

_AUTOMATIC_RE = re.compile(r"(?:" + "|".join(_AUTOMATIC_REPLY + _OUT_OF_OFFICE) + r")(?!\w)")
_ABSENT_RE = re.compile(r"(?:" + "|".join(_ABSENT) + r")(?!\w)")
# a tag a mail program adds at the end of the subject it answers: "Re: ... [risposta automatica]"
_TAG_AT_END_RE = re.compile(r"[\[(](?:" + "|".join(_AUTOMATIC_REPLY) + r")[\])]$")
_UNTIL_RE = re.compile(_UNTIL)
_REPLY_RE = re.compile(_REPLY)
# Dovecot's and other Sieve vacation replies: "Auto: " and the subject answered (our own)
_SIEVE_RE = re.compile(r"auto\s*:\s*")

# how an absence notice's body opens, in the languages above: read only in its first lines, and only
# to confirm a subject form a person could also write ("Auto: ..."), never on its own
_BODY_LIMIT = 600
_ABSENCE_BODY_RE = re.compile(
    r"out of (?:the )?office|(?:i am|i'm|i will be) (?:currently )?(?:away|out of|on (?:vacation|holiday|leave|"
    r"annual leave|parental leave))|(?:limited|no|without) access to (?:my )?e-?mail|"
    r"nicht im b(?:ü|ue)ro|ich bin (?:derzeit |zurzeit |bis \S+ )?(?:abwesend|im urlaub)|"
    r"je suis (?:actuellement )?(?:absente?|en cong[ée]s?)|absente? du bureau|"
    r"estoy (?:actualmente )?(?:fuera de (?:la )?oficina|de vacaciones|ausente)|fuera de (?:la )?oficina|"
    r"estou (?:ausente|de f[ée]rias|fora do escrit[óo]rio)|fora do escrit[óo]rio|"
    r"sono (?:attualmente )?(?:assente|in ferie|fuori (?:sede|ufficio))|fuori ufficio|"
    r"ik ben (?:momenteel |op dit moment )?(?:afwezig|op vakantie|met vakantie|niet op kantoor|met "
    r"ouderschapsverlof|op dienstreis)|niet op kantoor|beperkte? toegang|"
    r"(?:i'm|i am) on (?:maternity|paternity|parental|sick) leave|in elternzeit|auf urlaub|im urlaub bis|"
    r"je suis en (?:cong[ée]s?|d[ée]placement)|sono in ferie|estar[ée] ausente|me encuentro ausente|"
    r"no me encuentro en la oficina|encontro-me ausente|me encontro ausente|estou de f[ée]rias|"
    r"jag är (?:på semester|ledig|frånvarande|inte på kontoret)|jeg er (?:på ferie|fraværende|ikke på kontoret)|"
    r"jestem (?:na urlopie|nieobecn)|jsem (?:na dovolen[ée]|mimo kancel)|"
    # away until a date, limited access, after my return: a notice's wording (not "I'll be away on Tuesday,
    # can we move the audit?", which a person writes), in the seven languages clients write in
    r"(?:away|out|off) (?:until|till|through)|(?:limited|restricted) access|i will (?:be )?back on|"
    r"fuera (?:de la oficina )?hasta|ausente hasta|acceso limitado|a mi (?:regreso|vuelta)|"
    r"abwesend bis|au[sß]er haus bis|eingeschr[äa]nkte[mn]? zugriff|nach meiner r[üu]ckkehr|"
    r"absente? jusqu|acc[èe]s limit[ée]|[àa] mon retour|"
    r"assente fino|fuori ufficio fino|accesso limitato|al mio rientro|"
    r"afwezig (?:tot|t/m)|beperkte toegang|na mijn terugkeer|"
    r"ausente at[ée]|acesso limitado|no meu regresso|"
    # an office closed for its holidays
    r"(?:nos|our|unsere|nuestras|nuestra|i nostri|onze|os nossos|nossos) (?:bureaux|offices?|b[üu]ros?|oficinas?|"
    r"uffici|kantoren|kantoor|escrit[óo]rios?) (?:sont|are|will be|sind|bleiben|est[áa]n|estar[áa]n|sono|"
    r"saranno|zijn|blijven|est[ãa]o|estar[ãa]o) (?:\w+ )?(?:ferm[ée]s|closed|geschlossen|cerrad[ao]s|chiusi|"
    r"gesloten|fechad[ao]s)|"
    r"(?:l'ufficio|il negozio|unser (?:b[üu]ro|gesch[äa]ft|laden)|notre (?:magasin|bureau|boutique|agence)|onze "
    r"(?:winkel|zaak)|our (?:office|shop|store)|nuestra (?:oficina|tienda)|a nossa loja|o nosso escrit[óo]rio) "
    r"(?:[^.]{0,30}? )?(?:chius[oa]|geschlossen|ferm[ée]e?|gesloten|closed|cerrad[ao]|fechad[ao])")
# the sentence an automatic reply says itself with, anywhere in its first lines
_THIS_IS_AUTOMATIC_RE = re.compile(
    r"this is an? auto(?:mated|matic(?:ally generated)?) (?:reply|response|message)|"
    r"(?:este|esto) es un mensaje autom[áa]tico|dies ist eine automatisch(?:e| generierte) (?:antwort|nachricht)|"
    r"ceci est (?:un message|une r[ée]ponse) automatique|questo [èe] un messaggio automatico|"
    r"dit is een automatisch(?: gegenereerd)? (?:bericht|antwoord)|esta [ée] uma mensagem autom[áa]tica|"
    r"este [ée] um e-?mail autom[áa]tico|"
    # "this message was generated automatically", "Message généré automatiquement", "Mensagem gerada
    # automaticamente": said of the message itself, in the seven languages
    r"(?:this|the) (?:message|e-?mail) (?:was|has been|is) (?:automatically (?:generated|sent)|sent automatically|"
    r"generated automatically)|automatically generated (?:message|e-?mail)|"
    r"(?:diese|die) (?:nachricht|e-?mail) wurde automatisch (?:erstellt|generiert|versendet|verschickt)|"
    r"automatisch (?:generierte|erstellte|versendete) (?:nachricht|e-?mail)|"
    r"(?:message|courriel|e-?mail) (?:g[ée]n[ée]r[ée]|envoy[ée]) automatiquement|"
    r"ce (?:message|courriel) (?:a [ée]t[ée]|est) (?:g[ée]n[ée]r[ée]|envoy[ée]) automatiquement|"
    r"(?:este )?(?:mensaje|correo) (?:se ha |ha sido )?(?:generado|enviado) autom[áa]ticamente|"
    r"(?:messaggio|e-?mail) (?:generat[oa]|inviat[oa]) automaticamente|"
    r"dit (?:bericht|e-?mailbericht) (?:is|werd) automatisch (?:gegenereerd|verzonden|verstuurd)|"
    r"automatisch gegenereerd (?:bericht|e-?mailbericht)|"
    r"(?:mensagem|e-?mail) (?:gerad[oa]|enviad[oa]) automaticamente|esta [ée] uma resposta autom[áa]tica|"
    r"(?:generad[oa]|gerad[oa]|generat[oa]|g[ée]n[ée]r[ée]e?|generiert|generated) (?:autom[áa]ticamente|"
    r"automaticamente|automatiquement|automatisch|automatically)")
# what an automatic message that is no absence notice says besides: your message was received, this mailbox is
# no longer read, do not reply to it
_NOTICE_BODY_RE = re.compile(
    r"we (?:have )?received your (?:message|e-?mail|request|enquiry|inquiry)|(?:is|are) no longer "
    r"(?:in use|active|monitored|read)|do not reply|don't reply|"
    r"wir haben ihre (?:nachricht|e-?mail|anfrage) (?:erhalten|bekommen)|nicht mehr (?:genutzt|benutzt|aktiv|"
    r"gelesen|in gebrauch|besetzt)|(?:bitte )?antworten sie nicht|"
    r"nous avons (?:bien )?re[çc]u votre (?:message|courriel|e-?mail|demande)|n'est plus (?:active|actif|utilis[ée]e?|"
    r"consult[ée]e?|lue?)|ne pas (?:y )?r[ée]pondre|"
    r"hemos recibido (?:correctamente )?su (?:mensaje|correo|solicitud|consulta)|"
    r"ya no (?:est[áa] )?(?:en uso|activ[ao]|se (?:usa|utiliza|consulta))|no (?:responda|conteste)|"
    r"abbiamo ricevuto (?:correttamente )?(?:la sua|la vostra|il suo|il vostro) (?:e-?mail|mail|messaggio|richiesta)|"
    r"non (?:è|e) più (?:in uso|attiv[ao]|utilizzat[ao]|monitorat[ao])|non rispondere|"
    r"(?:wij|we) hebben uw (?:bericht|e-?mail|mail|aanvraag|vraag) (?:in goede orde )?ontvangen|"
    r"niet (?:meer )?(?:in gebruik|gebruikt|actief|gelezen)|niet (?:op (?:dit bericht|deze e-?mail) )?(?:reageren|"
    r"antwoorden)|(?:hier|hierop) niet op (?:reageren|antwoorden)|"
    r"recebemos (?:a )?(?:sua )?(?:mensagem|e-?mail|solicita[çc][ãa]o|pedido)|confirma(?:r|mos) (?:a "
    r"rece(?:p)?[çc][ãa]o|o recebimento)|acuse de recibo|accus[ée] de r[ée]ception|conferma di ricezione|"
    r"ontvangstbevestiging|eingangsbest[äa]tigung|n[ãa]o (?:est[áa]|[ée]) mais "
    r"(?:em uso|ativ[oa]|utilizad[oa]|monitorad[oa])|n[ãa]o responda|favor n[ãa]o responder")
# the line an automatic reply opens its body with: "This is an automatic reply", "Respuesta automática:"
_AUTOMATIC_BODY_RE = re.compile(
    r"(?:this is an? )?auto(?:matic(?:ally generated)?)?[- ]?(?:reply|response|message)|"
    r"(?:este es un |esto es un )?(?:mensaje|respuesta) autom[áa]tic[oa]|"
    r"(?:dies ist eine )?automatische (?:antwort|nachricht|e-?mail|abwesenheitsnotiz)|"
    r"(?:ceci est (?:un|une) )?(?:message|r[ée]ponse) automatique|"
    r"(?:questo [èe] (?:un|una) )?(?:messaggio|risposta) automatic[ao]|"
    r"(?:dit is een )?automatisch(?: gegenereerd)? (?:bericht|antwoord)|"
    r"(?:esta [ée] uma )?(?:mensagem|resposta) autom[áa]tica")

# a delivery daemon, by its address or its name
_DAEMON_LOCALS = frozenset({"mailer-daemon", "mailerdaemon", "mail-daemon", "maildaemon", "postmaster", "delivery",
                            "mailer", "mail-delivery", "maildelivery", "bounce", "bounces", "bounced",
                            "non-delivery", "nondelivery", "ndr", "mail.delivery", "mdaemon"})
_DAEMON_NAME_RE = re.compile(r"mail(?:er)?[- ]?(?:delivery|daemon)|postmaster|delivery (?:status|subsystem|system)|"
                             r"mail (?:system|administrator)")
# bounce wording in a subject (from a daemon: anywhere in the subject)
_BOUNCE_WORDS_RE = re.compile(
    r"undeliver|undelivered|not (?:be )?delivered|delivery (?:status|failure|failed|has failed|problem|"
    r"notification|report|error|delayed)|(?:mail )?delivery failed|failure notice|returned (?:mail|to sender)|"
    r"non-?deliver|returning message|could not be delivered|unzustellbar|nicht zustellbar|non remis|"
    r"non distribu|[ée]chec de (?:la )?(?:remise|distribution)|no se (?:puede|pudo) entregar|no entregado|"
    r"error de entrega|non recapitabil|mancato recapito|onbestelbaar|niet (?:bezorgd|afgeleverd)|"
    r"n[ãa]o (?:foi poss[íi]vel|[ée] poss[íi]vel) entregar|n[ãa]o entregue|kan inte levereras|"
    r"kunde inte levereras|kan ikke leveres|ikke (?:leveret|levert)|nie mo[żz]na dostarczy[ćc]|niedostarczon|"
    r"nedoru[čc]iteln|nelze doru[čc]it|не доставлено|недоставлен|невозможно доставить|ei voi toimittaa|"
    r"toimitus ep[äa]onnistui|teslim edilemedi|k[ée]zbes[íi]thetetlen|无法投递|無法傳遞|配信不能|"
    r"전달되지 않|退信|系统退信")
# titles mail servers give their bounces, which a person never writes at the start of a subject
_BOUNCE_TITLE_RE = re.compile(
    r"(?:undelivered mail returned to sender|delivery status notification \((?:failure|delay)|"
    r"mail delivery failed: returning message|returned mail: see transcript|mail system error - returned mail|"
    r"failure notice$|undeliverable mail|(?:undeliverable|unzustellbar|non remis|no se puede entregar|"
    r"non recapitabile|onbestelbaar|não é possível entregar|kan inte levereras|kan ikke leveres|"
    r"nie można dostarczyć|nedoručitelné|не доставлено|ei voi toimittaa|teslim edilemedi|"
    r"kézbesíthetetlen|无法投递|無法傳遞|配信不能)\s*:)")

# Exchange's marks on the mail its agents make (verified in real messages and Exchange's own sources)
EXCHANGE_HEADERS = ("x-ms-exchange-inbox-rules-loop",  # made by an inbox rule: an auto-reply or a redirect
                    "x-ms-exchange-generated-message-source",  # made by an agent (Mailbox Rules Agent, ...)
                    "x-ms-exchange-message-is-ndr",  # a non-delivery report
                    "x-ms-exchange-transport-rules-notification")  # a transport rule's notice

# X-Auto-Response-Suppress (MS-OXCMAIL): a list of DR, NDR, RN, NRN, OOF, AutoReply, All, None; or the
# PidTagAutoResponseSuppress bit mask, where OOF is 0x10 and AutoReply 0x20
_SUPPRESS_WORDS = frozenset({"all", "autoreply", "oof"})
_SUPPRESS_BITS = 0x10 | 0x20


def _key(subject: str) -> str:
    """The subject as compared: compatibility forms folded (fullwidth colons), case folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", subject[:SUBJECT_LIMIT]).casefold().split())


def _ours_after(rest: str) -> bool:
    """Does what follows a phrase read as the subject it answers (ours) or nothing?"""
    rest = rest.lstrip(_SEPARATOR + _CLOSE + " .,;!")
    return not rest or bool(_REPLY_RE.match(rest)) or "[#c-" in rest


def auto_reply_subject(subject: str, body: str = "") -> bool:
    """Does the subject begin the way an out-of-office or automatic reply's does?

    A form a person might also begin a subject with ("Auto: ...", "Ausente ...") counts when what
    follows is a machine's (our subject, a date, nothing) or when the body opens as an absence notice.
    """
    key = _key(subject)
    if _TAG_AT_END_RE.search(key[-80:]):
        return True
    opened = key[:1] in _OPEN
    key = key.lstrip(_OPEN + " ")
    automatic = _AUTOMATIC_RE.match(key)
    if automatic:
        rest = key[automatic.end():]
        # a tag ("[Auto-Reply] ...") or a prefix ("Automatic reply: ..."); "automatic reply is broken" is a person's
        first = rest.lstrip()[:1]
        return (opened and rest[:1] in _CLOSE) or (bool(first) and first in _SEPARATOR) or _ours_after(rest) \
            or bool(_UNTIL_RE.match(rest.lstrip(" ,")))
    absent = _ABSENT_RE.match(key)
    if absent:
        rest = key[absent.end():]
        if opened and rest[:1] in _CLOSE:
            return True
        if not rest.strip(_SEPARATOR + _CLOSE + " .,;!"):
            # "Abwesenheit" alone is a person's subject as often as a machine's: the body decides
            return absence_notice(body) or _says_automatic(body)
        return _ours_after(rest) or bool(_UNTIL_RE.match(rest.lstrip(_SEPARATOR + " ,"))) \
            or absence_notice(body)
    sieve = _SIEVE_RE.match(key)
    return sieve is not None and (_ours_after(key[sieve.end():]) or absence_notice(body) or _says_automatic(body))


# a retired mailbox or a person who left, said in the first lines: only a machine opens a reply so
_RETIRED_RE = re.compile(
    r"(?:this|the) (?:mailbox|e-?mail address|address|inbox) (?:is|has been) no longer (?:monitored|in use|active)|"
    r"has left the (?:company|organi[sz]ation)|no longer works? (?:for|at|with) |"
    r"(?:diese|die) (?:e-?mail-?adresse|adresse|mailbox|postfach) (?:ist|wird) nicht mehr (?:aktiv|genutzt|besetzt|"
    r"benutzt)|nicht mehr (?:in unserem unternehmen|bei uns) t[äa]tig|"
    r"cette adresse (?:[ée]lectronique |e-?mail )?n'est plus (?:en service|active|utilis[ée]e|consult[ée]e)|"
    r"ne fait plus partie de (?:notre|la) (?:soci[ée]t[ée]|entreprise|[ée]quipe)|"
    r"(?:la casilla|esta (?:cuenta|direcci[óo]n)|este (?:buz[óo]n|correo))[^.]{0,60}ya no (?:se encuentra |est[áa] )?"
    r"(?:en uso|activ[ao])|ya no forma parte de (?:la|nuestra) (?:empresa|compa[ñn][íi]a)|"
    r"questa casella(?: di posta)? non [èe] pi[ùu] (?:attiva|in uso)|non lavora pi[ùu] (?:presso|per|con) |"
    r"dit (?:e-?mailadres|adres|mailadres) is niet (?:meer|langer) (?:in gebruik|actief)|niet (?:meer|langer) "
    r"werkzaam bij|"
    r"esta caixa de correio (?:j[áa] )?n[ãa]o (?:se encontra|est[áa]) (?:mais )?a(?:c)?tiva|deixou de fazer parte da "
    r"(?:empresa|equipa|equipe)|este (?:endere[çc]o|e-?mail) (?:j[áa] )?n[ãa]o (?:est[áa]|se encontra) (?:mais )?"
    r"(?:em uso|a(?:c)?tivo)")
# a help desk's acknowledgement: "we have received your request" and the ticket it says it created
_TICKET_CREATED_RE = re.compile(
    r"(?:ticket|case|caso|chamado|fall|dossier|pratica|incidencia)[^.\n]{0,40}?(?:has been |was |ha sido |a [ée]t[ée] "
    r"|è stat[oa] |wurde |is |foi )?(?:created|opened|logged|creado|abierto|cr[ée]{2}|ouvert|aperto|creato|erstellt|"
    r"angelegt|er[öo]ffnet|aangemaakt|geopend|criado|aberto)|(?:created|opened|creado|abierto|aperto|creato|"
    r"aangemaakt|criado|aberto|erstellt|angelegt|abbiamo aperto|se ha creado)\s+(?:a |an |el |il |le |een |o |ein |"
    r"un |una )?(?:support |nuevo |nouveau )?(?:ticket|case|caso|chamado|fall)|protocolo de atendimento")


def auto_reply_body(body: str) -> bool:
    """Does the body say it is an automatic reply (opening "Respuesta automática: ...", or anywhere "This is an
    automatic message") and read as an absence notice, or, said anywhere, as an acknowledgement of receipt or a
    mailbox no longer read? A mail program's automatic reply may keep the subject it answers ("Re: ...")."""
    first = next((line for line in body[:_BODY_LIMIT].splitlines() if line.strip()), "")
    head = " ".join(body[:_BODY_LIMIT].casefold().split())
    if _RETIRED_RE.search(head[:300]):
        return True
    if _NOTICE_BODY_RE.search(head) and _TICKET_CREATED_RE.search(head):
        return True  # "Se ha creado el ticket #SR-558201": a help desk's acknowledgement
    if _says_automatic(body):
        # a message that says itself automatic: an absence notice, an acknowledgement of receipt, a retired box
        return absence_notice(body) or bool(_NOTICE_BODY_RE.search(" ".join(body[:_BODY_LIMIT].casefold().split())))
    return bool(_AUTOMATIC_BODY_RE.match(" ".join(first.casefold().split()))) and absence_notice(body)


_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[ \t]+|\n")


def _says_automatic(body: str) -> bool:
    """ "This is an automatic message" anywhere in the first lines, or a line that says only "Messaggio
    automatico." """
    head = body[:_BODY_LIMIT].casefold()
    if _THIS_IS_AUTOMATIC_RE.search(" ".join(head.split())):
        return True
    return any(_AUTOMATIC_BODY_RE.fullmatch(" ".join(piece.split()).strip(".!-–—*()[] "))
               for piece in _SENTENCE_END_RE.split(head))


def absence_notice(body: str) -> bool:
    """Does the body open the way an absence notice does ("I am out of the office until ...")?"""
    return bool(_ABSENCE_BODY_RE.search(" ".join(body[:_BODY_LIMIT].casefold().split())))


def delivery_daemon(from_addr: str, from_name: str) -> bool:
    """Is the sender a mail server's delivery daemon, by its address or by its name?"""
    local = from_addr.rpartition("@")[0].casefold()
    return (local in _DAEMON_LOCALS or local.startswith("microsoftexchange")
            or bool(_DAEMON_NAME_RE.search(from_name[:200].casefold())))


def bounce_notice(from_addr: str, from_name: str, subject: str) -> bool:
    """Is it a plain-text bounce: a server's bounce title, or bounce wording from a delivery daemon?"""
    key = _key(subject)
    if _BOUNCE_TITLE_RE.match(key):
        return True
    return delivery_daemon(from_addr, from_name) and bool(_BOUNCE_WORDS_RE.search(key))


def exchange_signals(headers: dict[str, str]) -> list[str]:
    """The Exchange headers that say one of its agents, not a person, made the message."""
    return [name for name in EXCHANGE_HEADERS if name in headers]


def suppresses_auto_replies(value: str) -> bool:
    """Does an X-Auto-Response-Suppress value ask for no automatic replies (All, AutoReply or OOF)?"""
    words = {w.strip().casefold() for w in value[:500].replace(";", ",").split(",")}
    if words & _SUPPRESS_WORDS:
        return True
    for word in words:
        try:
            bits = int(word, 0)
        except ValueError:
            continue
        if bits & _SUPPRESS_BITS or bits == -1:
            return True
    return False
