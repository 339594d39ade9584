"""Whether a client's reply says the matter is settled, in en/es/de/fr/it/nl/pt. Pure.

Read as a person reads a short answer to a check-in: a word of settling ("solucionado", "läuft
wieder", "c'est réglé", "recibido", "you can close it", "no longer needed") in a clause of the
client's own that is not negated ("no funciona", "funktioniert nicht", "pas réglé"), not a question
("¿ya está resuelto?"), not a condition or a promise ("when it is fixed", "sobald es läuft"), and
no clause saying it is still wrong ("todavía falla", "but the invoice is still wrong"). The words are
stems, matched on folded text (lower case, accents dropped), so "ya esta arreglado" from a phone and
"Ya está arreglado" read the same. A wrong yes costs little: it only suggests to the owner that the
concern may be resolved; a missed one leaves a settled client receiving check-ins.
"""

from __future__ import annotations

import re

from service.core.stop_text import fold
from service.detector.language import identify

READ_CHARS = 600  # the answer to a check-in is at the top of a reply
# a clause ends at these; "¿" opens a Spanish question
_CLAUSE_RE = re.compile(r"[^.,;:!?¿¡\n]+[.,;:!?\n]?")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _stems(text: str) -> tuple[tuple[str, ...], ...]:
    """Phrases of stems: "todo bien" -> ("todo", "bien"); a trailing * matches any ending."""
    return tuple(tuple(p.split()) for p in text.split(",") if p.strip())


# words and phrases that settle a matter (folded; "resuel*" matches resuelto, resuelta, resuelve)
SETTLED = _stems(
    # en
    "resolved, solved, sorted, fixed, works, worked, working now, working again, working fine, working properly, "
    "s working, is working, arrived, received, all good, all fine, all set, all ok, all okay, perfect, perfectly, "
    "close it, close this, close the ticket, close the case, close the request, can be closed, no longer needed, "
    "no longer need, not needed anymore, don't need it, did the trick, back to normal, up and running, "
    "good now, fine now, happy now, sorted out, came through, went through, no further issues, no more issues, "
    # es
    "resuel*, solucion*, arregl*, funciona*, ya anda, anda bien, ya jala, lleg*, recib*, perfect*, todo bien, "
    "todo ok, todo correcto, todo en orden, todo chido, de diez, cerrar*, cierren, ya no hace falta, "
    "ya no necesit*, no hace falta, damos por, dar por, listo, ya no hay problema, ya quedo, quedo resuelt*, "
    "quedo arreglad*, jala bien, jala de maravilla, ya no lo necesit*, "
    # de
    "erledigt, gelost, geloest, behoben, repariert, funktioniert*, lauft, laeuft, klappt, angekommen, "
    "eingegangen, erhalten, bekommen, gutgeschrieben, passt, alles gut, alles klar, alles bestens, "
    "in ordnung, schliessen, abschliessen, geschlossen, nicht mehr notig, nicht mehr noetig, "
    "nicht mehr erforderlich, perfekt, bestens, keine probleme mehr, brauch* ich nicht mehr, "
    "brauch* wir nicht mehr, brauch* nicht mehr, benotig* ich nicht mehr, "
    # fr
    "regle, reglee, regles, resolu*, corrige*, repare*, fonctionne*, marche, remarche, recu*, est arrive*, "
    "sont arrive*, bien arrive*, parfait*, nickel, tout est bon, tout bon, c est bon, tout va bien, en ordre, "
    "c est correct, est correct*, ca tourne, tourne de nouveau, tourne normalement, tourne bien, "
    "cloturer, clore, fermer, plus besoin, plus de probleme, plus aucun probleme, c bon, cest bon, "
    "plus necessaire, plus utile, "
    # it
    "risolt*, sistemat*, aggiustat*, riparat*, funziona*, arrivat*, ricevut*, perfett*, tutto ok, tutto bene, "
    "a posto, apposto, chiud*, non serve piu, non ci serve piu, non e piu necessari*, "
    # nl
    "opgelost, verholpen, gerepareerd, werkt, ontvangen, is binnen, zijn binnen, binnengekomen, aangekomen, "
    "geregeld, in orde, werkt prima, alles prima, prima zo, top, perfect, sluiten, afsluiten, gesloten, "
    "niet meer nodig, teruggestort, geen problemen meer, hoeft niet meer, hoeven niet meer, "
    # pt
    "resolvid*, resolveu, solucionad*, consertad*, arrumad*, funciona*, chegou, chegaram, recebi*, "
    "perfeit*, tudo certo, tudo ok, tudo bem, tudo em ordem, fechar, encerrar, "
    "nao precisa mais, ja nao e preciso, ja nao precisamos, deu certo, td certo, td ok, td bem, ta tudo certo, "
    "tudo certinho, nao preciso mais, nao e mais necessari*, "
    # in every language: no problem left, credited, closed, concluded, satisfied, going well, back online
    "noproblem, credited, closed, completed, done, satisfied, going well, back online, delivered, reconciled, "
    "come through, got the refund, got my refund, refund came, money is back, nothing further, nothing more needed, "
    "geliefert, livre, livree, consegnat*, entregad*, bezorgd, geleverd, "
    "acreditad*, cerrad*, concluid*, satisfech*, va bien, de nuevo en linea, "
    "zufrieden, abgeschlossen, wieder online, lauft gut, alles super, alles paletti, alles da, ist da, sind da, "
    "gekommen, vollstandig, geklart, geklaert, geht wieder, zumachen, leiwand, "
    "credite*, clos, cloture*, termine*, satisfait*, tout roule, de nouveau en ligne, "
    "accreditat*, chius*, conclus*, completat*, soddisfatt*, va bene, va benissimo, alla grande, a buon fine, "
    "tornato online, di nuovo online, tornato su, "
    "bijgeschreven, afgesloten, afgerond, voltooid, tevreden, gaat goed, gaat prima, weer online, "
    "draait weer, doet het weer, staat weer, weer stabiel, rechtgezet, eindelijk binnen, geen verdere actie, "
    "no further action, keine weiteren schritte, ninguna accion adicional, aucune action supplementaire, "
    "creditad*, fechad*, encerrad*, satisfeit*, tudo otimo, voltou ao ar, tudo fixe, bate certo, entregue*, "
    "funcionou, funcionando, funciono, consegui, pude, managed to, j ai pu, ho potuto, corrigid*, corregid*, "
    "corrett*, gecorrigeerd, korrigiert, corrected, "
    # a third writer's idioms (development set, bench/RESULTS.md)
    "got it, looks great, alls well, collected it, is correct, everything correct, good to close, happy days, "
    "not a peep, running again, running fine, all sorted, activated, sache ist gegessen, eingetroffen, kann zu, "
    "alles guet, guet cho, allet jut, aktiviert, bien passe, rien a signaler, impeccable, effectue*, active*, "
    "alles binnen, gelukt, staat erop, gestort, klaar, geen klachten meer, gereed, geactiveerd, attivat*, "
    "activad*, ativad*, "
    # a fifth writer's (Spanish, Italian, Portuguese; development set)
    "como un guante, todo guay, ya lo tengo, una meraviglia, uma maravilha, de maravilla, uma beleza, "
    "si puo chiudere, pode encerrar, pueden cerrar, non mi lamento, fa il suo dovere, nao ha queixas, sem queixas, "
    "nada a reclamar, nessuna lamentela, ninguna queja, sin quejas, keine beschwerden, aucune plainte, "
    "rien a redire, no complaints, consertaram, arrumaram, resolveram, solucionaram, arreglaron, resolvieron, "
    "deu um jeito, voltou a, accredito, reembolsad*, devolvid*, estornad*, rimborsat*, devuelt*, terugbetaald, "
    "erstattet, rembourse*")
# "not any more", as the whole answer to "is it still a problem?"
NO_LONGER = _stems("not anymore, not any more, no longer, ya no, nicht mehr, plus maintenant, non piu, niet meer, "
                   "ja nao, nao mais")
_ANSWERED = frozenset({"all", "it", "its", "everything", "we", "we're", "were", "that", "thats", "all's"})
_ANSWER_WORDS = frozenset({"no", "nein", "non", "nee", "nao", "nope", "grazie", "gracias", "danke", "merci",
                           "bedankt", "obrigado", "obrigada", "thanks"})
# "no problem", "problemlos": not a negation, not a fault (read as one neutral word)
_NO_PROBLEM_RE = re.compile(
    r"\b(?:no problems?|no issues?|sin problemas?|ningun problema|kein problem|keine probleme|problemlos|"
    r"pas de probleme|sans probleme|aucun probleme|nessun problema|senza problemi|geen probleem|"
    r"geen problemen|zonder problemen|sem problemas?|nenhum problema|zero problem\w*|cero problemas|"
    r"ohne (?:weitere )?probleme|sans (?:aucun )?(?:souci|soucis|probleme)|without (?:any )?(?:problems?|issues?)|"
    r"without a hitch|sin contratiempos|senza intoppi|reibungslos|sans accroc|sem contratempos)\b")

# a word that turns the settling word after it into its opposite: "no funciona", "not fixed", "nie"
NEGATIONS = _word_set(
    "no not never nothing don't doesn't didn't isn't wasn't hasn't haven't won't can't cannot nor nunca "
    "nada ni tampoco sin nicht nie kein keine keinen keinem ungern pas jamais rien non niente nessun "
    "niet nooit geen nao nem sem nichts nix niets niks n "
    # what would settle it, not what does: "zufrieden wäre ich, wenn ...", "I would close it once ..."
    "would wurde ware seria serait sarebbe zou nobody ninguem nadie niemand personne nessuno "
    "wouldn't couldn't shouldn't aren't weren't wouldnt couldnt dont doesnt didnt isnt wasnt wont cant")
# a negation the settling word brings after it in German, French and Dutch: "funktioniert nicht"
NEGATIONS_AFTER = _word_set(
    "nicht nie kein keine pas plus jamais niet nooit geen nichts rien niets nada niente nothing "
    "wurde ware seria serait sarebbe zou")
# a clause that is a condition or a promise: "when it is fixed", "cuando esté", "sobald", "quand"
CONDITIONS = _word_set(
    "if when once until unless whether cuando cuanto apenas hasta mientras wenn sobald falls bis ob quand "
    "lorsque jusqu "
    "quando appena finche als zodra wanneer tot indien assim ate caso")
# "si" opens a condition at the head of a clause ("Si funciona, ..."), not as "sí" or Italian "si è"
_IF_AT_HEAD = "si"
# "still", "again", "but": with a negation or a fault after them, the matter is not settled
STILL = _word_set(
    "still yet again but however though now todavia aun sigue siguen sigo continua continuan nuevamente "
    "pero ahora noch immer wieder aber jedoch allerdings doch jetzt toujours encore mais cependant "
    "toutefois maintenant ancora pero tuttavia ora adesso nog steeds weer maar echter nu ainda mas porem "
    "contudo agora only alleen solo nur seulement solamente apenas somente weiterhin then today poi oggi ma "
    "dann heute puis ensuite luego hoy depois hoje daarna vandaag "
    # except that, on the other hand, unfortunately
    "except sauf salvo excepto ausser behalve tranne exceto contre revanche neanmoins pourtant unfortunately "
    "malheureusement leider lamentablemente desafortunadamente purtroppo helaas infelizmente "
    # nevertheless: "Trotzdem verstehe ich nicht, warum ..."
    "trotzdem dennoch nevertheless nonetheless embargo comunque mesmo obstante peccato pity shame schade "
    "dommage lastima")
FAULTS = _stems(
    "wrong, error*, fail*, broken, problem*, issue*, missing, incorrect, down, "
    "malo, mala, error*, falla*, fallo*, problema*, incorrect*, equivocad*, falta*, roto, rota, caid*, "
    "falsch*, fehler*, kaputt, problem*, fehlt, ausgefallen, "
    "faux, fausse, erreur*, panne, probleme*, manque*, bug*, plante, "
    "sbagliat*, errore*, errat*, guast*, problem*, manca*, rott*, "
    "fout*, kapot, probleem*, ontbreekt, storing, "
    "errad*, erro*, falh*, problema*, quebrad*, faltando, verkeerd*, mauvais*, "
    # lost, slower, the same as before
    "lost, perdu*, perdid*, verloren, perso, persi, perdut*, kwijt, "
    "slower, worse, langsamer, schlechter, lent, pire, lento, peor, peggio, trager, slechter, pior, "
    "same, igual, mismo, misma, gleiche, meme, stesso, stessa, zelfde, hetzelfde, mesmo, mesma, "
    # still open, still pending
    "open, offen, ouvert*, abiert*, apert*, abert*, pending, pendiente*, ausstehend, attente, sospeso, "
    "pendente*, openstaand, empty, leer, vacio, vacia, vide, vuoto, vuota, leeg, vazio, vazia, "
    # still waiting, short of what was agreed, and a question why
    "waiting, warte*, wacht*, attend*, aspett*, esperando, aguard*, short, weniger, moins, menos, meno, minder, "
    "why, warum, wieso, pourquoi, perche, waarom, stopped, paro, parou, fermat*, bloccat*, bloquead*, "
    "charged, addebitat*, cobraram, cobraron, cobrado, cobrada, berechnet, aangerekend, perdi, perdemos")
# something still missing, unless nothing is: "es fehlen immer noch die Schrauben" ("nichts fehlt" is settled)
MISSING = _stems("missing, fehl*, falta*, faltan, manque*, manca*, mancan*, ontbreek*, ontbreken")
# not yet: wherever it is said, the matter is not settled
NOT_YET = _stems("third time, second time, dritten mal, zweiten mal, troisieme fois, deuxieme fois, derde keer, "
                 "tweede keer, terza volta, seconda volta, tercera vez, segunda vez, terceira vez, "
                 "not yet, todavia no, aun no, ainda nao, por enquanto nao, por ahora no, noch nicht, pas encore, "
                 "non ancora, per ora no, nog niet, voorlopig niet")
# the words of one language that are a negation in another: Portuguese "no" is "in the"
_NOT_NEGATIONS = {"pt": frozenset({"no"})}
# "não, já está tudo ok": the answer to "still a problem?", then the news
_ALREADY = frozenset({"ja", "ya", "schon", "deja", "gia", "al", "already"})
# only part of it is done: wherever it is said, the matter is not settled
PARTLY = _stems("partly, partially, parcialmente, a medias, en parte, teilweise, zum teil, partiellement, en partie, "
                "a moitie, in parte, parzialmente, gedeeltelijk, deels, em parte, pela metade")
# an ongoing fault: "keeps restarting", "continua a riavviarsi", "sigue reiniciándose"
ONGOING = _word_set("keeps continues continua continuano sigue siguen continuan blijft blijven continue continuent "
                    "continuam")


def _matches(words: list[str], at: int, phrase: tuple[str, ...]) -> bool:
    if at + len(phrase) > len(words):
        return False
    for word, stem in zip(words[at:at + len(phrase)], phrase, strict=True):
        if stem.endswith("*"):
            if not word.startswith(stem[:-1]):
                return False
        elif word != stem:
            return False
    return True


def _find(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> list[tuple[int, int]]:
    """(start, end) of every phrase found in `words`, longest first at each place."""
    found: list[tuple[int, int]] = []
    for at in range(len(words)):
        hits = [len(p) for p in phrases if _matches(words, at, p)]
        if hits:
            found.append((at, at + max(hits)))
    return found


# German "Ware" (goods) folds to "wäre" (would be): after an article it is the goods
_WARE_AFTER = frozenset({"die", "der", "den", "ihre", "unsere", "meine", "eure", "deine", "keine", "bestellte",
                         "gelieferte", "neue"})


def _clause_words(clause: str) -> list[str]:
    # "isn't" -> "isn't"; "n'a" (French elision) -> "n" "a"
    words = re.findall(r"[a-z0-9]+(?:'t)?", clause.replace("n't", "n't "))
    words = [("goods" if w == "ware" and k and words[k - 1] in _WARE_AFTER else w) for k, w in enumerate(words)]
    # French "n'" is "ne", a negation; "n° 4471" is a number's mark
    words = [w for k, w in enumerate(words) if not (w == "n" and words[k + 1:k + 2] and words[k + 1][0].isdigit())]
    if words[:1] in (["no"], ["nope"], ["nah"], ["nao"], ["nein"], ["nee"], ["non"]) and words[1:2] and (
            words[1] in _ANSWERED or words[1] in _ALREADY):
        return words[1:]  # "no all done", "no it's fine now": the answer to "anything outstanding?"
    return words


# "No obstante, hemos estado once días sin servicio": the marker's comma does not end what it governs
_MARKER_COMMA_RE = re.compile(
    r"\b(no obstante|sin embargo|however|trotzdem|cependant|toutefois|pourtant|tuttavia|comunque|contudo|"
    r"no entanto|echter|nevertheless|nonetheless|leider|malheureusement|purtroppo|helaas|infelizmente|"
    r"lamentablemente|unfortunately)[ \t]*,")


def _clauses(text: str) -> list[tuple[list[str], bool]]:
    """Each clause's words and whether it is a question, in the order written."""
    folded = _MARKER_COMMA_RE.sub(r"\1 ", _NO_PROBLEM_RE.sub("noproblem", fold(text[:READ_CHARS])))
    out: list[tuple[list[str], bool]] = []
    question = False
    for m in _CLAUSE_RE.finditer(folded):
        piece = m.group(0)
        start = m.start()
        if start > 0 and folded[start - 1] == "¿":
            question = True
        words = _clause_words(piece)
        if words:
            out.append((words, question or piece.endswith("?")))
        if piece.endswith(("?", ".", "!", "\n")):
            question = False
    return out


def _negated(words: list[str], start: int, end: int, negations: frozenset[str]) -> bool:
    before = words[max(0, start - 4):start]
    after = words[end:end + 3]
    return bool(negations & set(before)) or bool(NEGATIONS_AFTER & set(after))


def _unsettled(words: list[str], negations: frozenset[str]) -> bool:
    """A clause that says it is not over: "still wrong", "todavía no", "aber die Rechnung ist falsch"."""
    if _find(words, PARTLY) or _find(words, NOT_YET):
        return True
    still = bool(STILL & set(words)) or not _find(words, SETTLED)  # "a documentação em falta foi entregue"
    for start, _ in _find(words, MISSING):
        if still and not negations & set(words[max(0, start - 3):start]) and "nichts" not in words[start + 1:start + 2]:
            return True
    for k, word in enumerate(words):
        if word in ONGOING and not _find(words[k + 1:k + 5], SETTLED):
            return True
        if word in STILL:
            rest = words[k + 1:k + 9]
            if negations & set(rest) or _find(rest, FAULTS):
                return True
    return False


def says_all_is_well(text: str, lang: str | None = None) -> bool:
    """The client tells us the matter is settled (a suggestion to resolve, never a resolution).

    `lang`: the text's language (ISO 639-1) where known; else it is identified here.
    """
    code = lang or identify(text[:READ_CHARS]).code or ""
    negations = NEGATIONS - _NOT_NEGATIONS.get(code, frozenset())
    settled = False
    for words, question in _clauses(text):
        answer = [w for w in words if w not in _ANSWER_WORDS]
        if any(len(p) in (len(answer), len(words)) and (_matches(answer, 0, p) or _matches(words, 0, p))
               for p in NO_LONGER):
            settled = True  # "Non più, grazie": the answer to "is it still a problem?"
            continue
        if _unsettled(words, negations):
            return False
        for start, end in _find(words, SETTLED):
            phrase = words[start:end]
            if set(phrase) & NEGATIONS:  # "no hace falta", "niet meer nodig": settling as a whole
                negated = bool(negations & set(words[max(0, start - 2):start]) - {"ya", "al"})
            else:
                negated = _negated(words, start, end, negations)
            if negated:
                return False  # "no funciona", "not fixed": whatever else it says, not settled
            if question or CONDITIONS & set(words[max(0, start - 4):start]) or (
                    words[0] == _IF_AT_HEAD and words[1:2] != ["e"] and code != "it"):  # Italian "sì"
                continue
            settled = True
    return settled
