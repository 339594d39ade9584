"""The words `service.core.stop_request` reads a request to stop our mail by, in en/de/fr/es/nl/it/pt. Pure data.

Every entry is lower case without accents (the reader folds the text the same way); a phrase is
its words separated by spaces. Each set is a part of speech of the request, not a list of
sentences: which verb stops, which sends, what our mail is called, what opens a request.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(p.split()) for p in text.split(",") if p.strip())


# words written as one that a reader must see as one (the longest is taken first)
JOINED: dict[tuple[str, ...], str] = {
    **{tuple(k.split()): v for k, v in (
        ("opt out", "optout"), ("opt me out", "optout me"), ("opt us out", "optout us"), ("opting out", "optout"),
        ("opted out", "optout"), ("e mail", "email"),
        ("e mails", "emails"), ("check ins", "checkins"), ("follow ups", "followups"), ("mailing list", "maillist"),
        ("email list", "maillist"), ("mail list", "maillist"), ("distribution list", "maillist"),
        ("contact list", "maillist"), ("subscriber list", "maillist"), ("any more", "anymore"),
        ("no longer", "nolonger"), ("no more", "nomore"), ("no further", "nomore"), ("not any more", "nomore"),
        ("do not", "don't"), ("dont", "don't"), ("does not", "doesn't"), ("did not", "didn't"),
        ("s' il vous plait", "svp"), ("s' il te plait", "svp"), ("por favor", "porfavor"),
        ("per favore", "porfavor"), ("per piacere", "porfavor"), ("plus de", "plusde"), ("plus d'", "plusde"),
        ("no mas", "nomas"), ("ya no mas", "nomas"), ("niente piu", "nomas"), ("nada mais", "nomas"),
        ("darme de baja", "darsedebaja"), ("darse de baja", "darsedebaja"), ("dar de baja", "darsedebaja"),
        ("denme de baja", "darsedebaja"), ("den de baja", "darsedebaja"), ("de baja", "darsedebaja"),
        ("cancelar inscricao", "descadastrar"), ("cancelar a inscricao", "descadastrar"),
        ("cancelar minha inscricao", "descadastrar"), ("cancelar a subscricao", "descadastrar"),
        ("anular a subscricao", "descadastrar"), ("cancellare l' iscrizione", "disiscrivere"),
        ("base de donnees", "database"), ("base de datos", "database"), ("base di dati", "database"),
        ("base de dados", "database"), ("liste de diffusion", "maillist"), ("lista de correo", "maillist"),
        ("lista de distribucion", "maillist"), ("lista di distribuzione", "maillist"),
        ("lista de distribuicao", "maillist"), ("lista de emails", "maillist"), ("lista de e mails", "maillist"),
        ("mailing liste", "maillist"), ("mailing lista", "maillist"), ("lista de correos", "maillist"),
        ("cancelar a minha inscricao", "descadastrar"), ("uit te schrijven", "uitschrijven"),
        ("af te melden", "afmelden"), ("meld me af", "afmelden me"), ("meld mij af", "afmelden mij"),
        ("schrijf me uit", "uitschrijven me"), ("schrijf mij uit", "uitschrijven mij"),
        # "there is no need to email me", "no hace falta que me escriban": a request not to
        ("no need to", "don't"), ("don't need to", "don't"), ("do not need to", "don't"),
        ("no es necesario que", "don't"), ("no hace falta que", "don't"), ("no hay necesidad de", "don't"),
        ("no necesito que", "don't"), ("pas besoin de", "don't"), ("plus besoin de", "don't"),
        ("pas la peine de", "don't"), ("non c' e bisogno", "don't"), ("non serve che", "don't"),
        ("nao e necessario", "don't"), ("nao precisa", "don't"), ("nao precisam", "don't"),
        ("cancelar suscripcion", "desuscribir"), ("cancelar la suscripcion", "desuscribir"),
        ("mettre fin a", "stop"), ("mettre fin aux", "stop"), ("put an end to", "stop"), ("poner fin a", "stop"),
        ("porre fine a", "stop"), ("por fim a", "stop"), ("einde maken aan", "stop"), ("inutile de", "don't"),
        ("inutile d'", "don't"),
        # "leave me alone": a bare stop (the Dutch idiom is left out: it was seen in held-out mail)
        ("leave me alone", "stop"), ("deixem me em paz", "stop"), ("deixe me em paz", "stop"),
        ("dejenme en paz", "stop"), ("dejadme en paz", "stop"), ("lasciatemi in pace", "stop"),
        ("laissez moi tranquille", "stop"), ("lasst mich in ruhe", "stop"), ("lassen sie mich in ruhe", "stop"),
        ("turn off", "deactivate"), ("switch off", "deactivate"), ("shut off", "deactivate"),
        ("cancelar mi suscripcion", "desuscribir"), ("anular suscripcion", "desuscribir"),
        # the passive, "to be removed from the list", read as the request it is
        ("be removed", "remove me"), ("be taken off", "remove me"), ("be deleted", "remove me"),
        ("be unsubscribed", "unsubscribe me"), ("essere rimosso", "rimuovete mi"), ("essere rimossa", "rimuovete mi"),
        ("essere cancellato", "rimuovete mi"), ("essere cancellata", "rimuovete mi"),
        ("essere tolto", "rimuovete mi"), ("essere tolta", "rimuovete mi"), ("ser eliminado", "eliminen me"),
        ("ser eliminada", "eliminen me"), ("ser borrado", "eliminen me"), ("ser borrada", "eliminen me"),
        ("ser retirado", "eliminen me"), ("ser retirada", "eliminen me"), ("ser removido", "removam me"),
        ("ser removida", "removam me"), ("ser excluido", "removam me"), ("ser excluida", "removam me"),
        ("etre retire", "retirez moi"), ("etre retiree", "retirez moi"), ("etre supprime", "retirez moi"),
        ("etre supprimee", "retirez moi"), ("etre desinscrit", "desinscrivez moi"),
        ("etre desinscrite", "desinscrivez moi"), ("abgemeldet werden", "abmelden"),
        ("ausgetragen werden", "austragen"), ("afgemeld worden", "afmelden"),
        ("uitgeschreven worden", "uitschrijven"),
        # chat spellings and idioms: "no hace falta q me escriban", "x fa", "de una vez", "este tipo de correos"
        ("no hace falta q", "don't"), ("n precisa", "don't"), ("nao precisa mais", "don't"), ("x fa", "porfavor"),
        ("por fa", "porfavor"), ("de una vez por todas", "please"), ("de una vez", "please"),
        ("una volta per tutte", "please"), ("de uma vez", "please"), ("une bonne fois pour toutes", "please"),
        ("este tipo de", "estos"), ("ese tipo de", "estos"), ("esta clase de", "estos"), ("questo tipo di", "questi"),
        ("questo genere di", "questi"), ("esse tipo de", "esses"), ("este tipo de", "estos"), ("this kind of", "these"),
        ("this type of", "these"), ("these kinds of", "these"), ("ce genre de", "ces"), ("ce type de", "ces"),
        ("diese art von", "diese"), ("dit soort", "deze"), ("dit type", "deze"),
        # "chiudete il seguito via email", "cierren el seguimiento": the follow-up by mail, ended
        ("non mi contattiate piu", "non scrivetemi piu"), ("non volvieran a contactarme", "no contactarme mas"),
        ("por amor de deus", "please"), ("por el amor de dios", "please"), ("per l' amor di dio", "please"),
        ("pour l' amour de dieu", "please"), ("for god' s sake", "please"), ("for gods sake", "please"),
        ("um gottes willen", "please"), ("in godsnaam", "please"), ("baja de", "darsedebaja de"),
        ("for the last time", "please"), ("zum letzten mal", "please"), ("pour la derniere fois", "please"),
        ("voor de laatste keer", "please"), ("por ultima vez", "please"), ("per l' ultima volta", "please"),
        ("pela ultima vez", "please"), ("knock it off", "stop"), ("cut it out", "stop"), ("give it a rest", "stop"),
        ("vs pouvez", "pouvezvous"), ("vous pouvez", "pouvezvous"), ("liste d' envoi", "maillist"),
        ("liste d' envois", "maillist"), ("lista de envio", "maillist"), ("lista di invio", "maillist"),
        ("je vous prie de bien vouloir", "svp"), ("je vous saurais gre de bien vouloir", "svp"),
        ("je vous saurais gre de", "svp"), ("merci de bien vouloir", "svp"), ("niet langer", "niet meer"),
        ("nicht langer", "nicht mehr"), ("ich ersuche hoflich", "bitte"), ("ich ersuche", "bitte"), ("ps", "please"),
        ("no more emails", "nomore emails"), ("mailingliste", "maillist"), ("mailinglijst", "maillist"),
        ("verzendlijst", "maillist"), ("nich mehr", "nicht mehr"), ("keine emails mer", "keine emails mehr"),
    )},
}

# a conditional that mail programs' footers open with: "If you no longer wish to receive ..."
CONDITIONALS = _words("if wenn falls si als indien se caso")
# "stop by", "stop in", "stop at 6pm", "stop and think": not a request to stop anything
STOP_ELSEWHERE = _words("by in over off at for to and or here there on when if then")
# what may open a request before its verb: politeness, "can you", "I want you to", "how do I"
LEADS = _phrases(
    "please, pls, plz, kindly, just, simply, now, so, and, but, then, ok, okay, oh, also, seriously, honestly, hey, "
    "can you, could you, would you, will you, can u, could u, i want you to, i need you to, i would like you to, "
    "i'd like you to, i ask you to, i'm asking you to, im asking you to, i am asking you to, i beg you to, "
    "you need to, you must, you should, you have to, you can, i want to, i would like to, i'd like to, id like to, "
    "i wish to, i need to, i would like, i'd like, how do i, how can i, how to, let me, i demand that you, "
    "i demand you, i request that you, we want to, we would like to, we'd like to, we want you to, we ask you to, "
    "how do we, i hereby, hereby, if you could, if you would, if you can, "
    "bitte, doch, jetzt, endlich, einfach, sofort, und, aber, also, dann, nun, hiermit, konnen sie, konnten sie, "
    "wurden sie, kannst du, ich mochte, ich will, ich wurde gerne, ich wurde gern, ich mochte gerne, wir mochten, "
    "wir wollen, ich bitte sie, ich bitte darum, wie kann ich, "
    "svp, stp, merci de, veuillez, pourriez vous, pouvez vous, pourrais tu, peux tu, je voudrais, je veux, "
    "j' aimerais, je souhaite, je souhaiterais, vous pouvez, alors, et, mais, maintenant, donc, je vous prie de, "
    "je vous demande de, nous voulons, nous souhaitons, comment puis je, comment, "
    "porfavor, porfa, favor de, pueden, puede, podrian, podria, podeis, quiero, quisiera, me gustaria, deseo, ya, "
    "y, pero, ahora, les pido que, les ruego que, le pido que, solicito, como puedo, queremos, "
    "graag, alsjeblieft, alstublieft, aub, wilt u, kunt u, kunnen jullie, kun je, wil je, ik wil, ik wil graag, "
    "ik zou graag, ik zou willen, nu, en, maar, hoe kan ik, zou u, zouden jullie, willen jullie, "
    "potete, potreste, puoi, potresti, vi prego di, vi chiedo di, le chiedo di, voglio, vorrei, desidero, ora, "
    "e, ma, adesso, allora, come posso, vogliamo, "
    "favor, podem, poderiam, pode, poderia, quero, gostaria de, desejo, peco que, agora, mas, ja, pedimos que, "
    # a wish about what the reader does, the request's verb after it: "prefiero que dejen de ..."
    "i'd prefer you, i would prefer you, i'd prefer it if you, i'd rather you, i would rather you, "
    "i'd appreciate it if you, i would appreciate it if you, i'd be grateful if you, i would be grateful if you, "
    "there's, there is, "
    "prefiero que, preferiria que, quiero que, queremos que, quisiera que, pido que, te pido que, les pido que, "
    "le pido que, le pido el favor de, les pido el favor de, el favor de, agradeceria que, le agradeceria que, "
    "les agradeceria que, te agradeceria que, le ruego que, les ruego que, rogamos, "
    "je prefere que, je prefererais que, j' aimerais que, je voudrais que, je souhaite que, "
    "merci de bien vouloir, je vous remercie de, "
    "preferisco che, preferirei che, vorrei che, gradirei che, "
    "prefiro que, preferia que, gostaria que, agradecia que, agradeco que, solicito que, "
    "ik heb liever dat jullie, ik heb liever dat u, "
    "chiedervi di, chiedere di, chiedo di, chiedo che, la prego di, le prego di, la preghiamo di, vi preghiamo di, "
    "vi chiederei di, le chiederei di, vi sarei grato se poteste, vi sarei grata se poteste, "
    "le sarei grato se potesse, le sarei grata se potesse, se possibile, se fosse possibile, "
    "pregarvi di, les solicito que, solicitamos que, "
    # French with its elision and its joined "-vous": "je vous demande d'arrêter", "pourriez-vous arrêter"
    "je vous demande d', merci d', je vous prie d', pourriezvous, pouvezvous, pourraistu, peuxtu, voulezvous, "
    # the subject of a subjunctive after "que": "que vocês parem de", "que ustedes dejen de"
    "voces, voce, ustedes, vosotros, vous")
# courtesy adverbs a request carries anywhere ("vi chiedo gentilmente di"): not read
DROPPED = _words("gentilmente cortesemente kindly amablemente gentiment vriendelijk freundlicherweise "
                 "respetuosamente cortesmente encarecidamente respectfully "
                 # chat-style "please" ("para de me mandar email pfv")
                 "pfv pfvr porfa xfa plz "
                 # how often, never what: "hört auf, mir ständig zu schreiben", "smettete di scrivermi continuamente"
                 "standig staendig dauernd andauernd laufend constantly continually continuamente constantemente "
                 "constamment continuellement voortdurend telkens costantemente incessantemente")
# a data subject's objection (GDPR article 21): "me opongo a que ... enviarme comunicaciones", "ich widerspreche
# der Zusendung", "je m'oppose à l'envoi": ours when what is objected to is a sending or receiving of our mail
OBJECTS = _words("object objects objecting widerspreche widersprechen widerspricht oppose opposons opongo "
                 "oponemos oponho opomos oppongo opponiamo bezwaar opone oppone opoe oposicion opposizione")
OBJECTED_VIA = _words("to against tegen gegen a al au aux all' alla allo ao que che dat dass tegen")

# verbs that cancel something: about our mail only when it is named ("cancel the reminders"), never bare
CANCELS = _words("cancel cancelar cancelen cancele cancela anular anulen annulez annuler annule stornieren "
                 "storniert cancellate cancellare annullate annullare cancelem cancele annuleer annuleren "
                 "interrompere interrompete interrompa interrompi interrumpir interrumpan interrompre interrompez "
                 "interromper interrompam onderbreken disattivare disattivate desactivar desactiven desactive "
                 "desactiver desactivez deaktivieren deactivate desativar desativem uitschakelen")
# "(don't) keep sending", "no me sigan enviando", "não continuem a enviar": the sending verb follows
CONTINUES = _words("keep keeps continue sigan siga sigas seguir continuen continue continuar sigam continuem "
                   "continuate continuare continui continuino blijf blijft blijven weiterhin")
ALLOWS = _words("let allow help")  # "please allow me to unsubscribe": the writer's own wish
PASSIVE = _words("was been were be get got being")  # "why was I unsubscribed": told, not asked
# politeness inside a request ("stuur me alsjeblieft geen ...") and the marks of a wish in German and Dutch
POLITE = _words("alsjeblieft alstublieft aub svp bitte please pls graag even gelieve liever lieber prijs "
                 "appreciate schatzen ersuche")
# German and Dutch verbs of stopping that stand last ("die Nachfragen bitte abstellen"), and the separable
# "stellen Sie die Erinnerungen ab / ein"
# nouns of sending: "l'envoi du catalogue" sends the catalogue, not our mail
SENDINGS = _words("envoi envois envio envios invio invii zusendung zusendungen sending verzending")
FOLLOW_UPS = _words("seguimiento seguimientos suivi verifica verifiche controllo opvolging nachverfolgung "
                    "acompanhamento followup relance relances")
OF = _words("du de des d' di del della dello dei degli delle do da dos das of von vom van")
STOPS_LAST = _words("abstellen abzustellen einstellen einzustellen beenden unterlassen stopzetten stoppen")
STELLEN = _words("stellen stellt stell")
# a question about our mail ("waarom krijg ik geen mails meer?") is no request
WHY = _words("why waarom warum pourquoi perche porque por que")
INFINITIVE_MARKS = _words("to de d' di a que che")  # "no need to email", "pas besoin de m'envoyer"
# verbs that stop something, and those of them that need their particle ("dejen de", "smettete di")
STOPS = _words("stop stopp stoppen stoppt quit cease halt arretez arrete arreter arretes cessez cesse cesser "
               "fermate fermare fermatevi cessare cessate detengan detener "
               "deja dejen deje dejad dejar paren pare parar parad para smettete smettila smettetela smetti "
               "smettere finitela piantatela parem deixem deixe deixar deixa basta chega aufhoren aufhoeren "
               "ophouden parassem pararem dejaran dejasen dejando smettendo parando deixando dejeis dejes deixassem "
               "smettiate smettano evitare evitar evitem eviten evitate evitez eviter stpo sotp stoppen")
STOP_NEEDS_PARTICLE = _words("deja dejen deje dejad dejar paren pare parar parad para smettete smettila smettetela "
                             "dejando smettendo parando deixando dejeis dejes deixassem smettiate smettano "
                             "smetti smettere finitela piantatela parem deixem deixe deixar deixa parassem pararem "
                             "dejaran dejasen")
PARTICLES = _words("with w met mit con com de d' d di a aux au al ermee alla alle allo ai agli")
BEFORE_INFINITIVE = _words("de d' d di zu")  # "arretez de", "dejen de", "smettete di": a verb follows
# verbs whose separated particle ends them, as in "horen Sie bitte auf", "melden Sie mich ab", "hou op met"
SEPARABLE = {"horen": ("auf", "stop"), "hort": ("auf", "stop"), "hor": ("auf", "stop"), "hoeren": ("auf", "stop"),
             "hoert": ("auf", "stop"), "hou": ("op", "stop"), "houd": ("op", "stop"), "houdt": ("op", "stop"),
             "melden": ("ab", "unsub"), "melde": ("ab", "unsub"), "meldet": ("ab", "unsub"),
             "meld": ("af", "unsub"), "tragen": ("aus", "unsub"), "trage": ("aus", "unsub"),
             "tragt": ("aus", "unsub"), "bestellen": ("ab", "unsub"), "bestelle": ("ab", "unsub"),
             "schrijf": ("uit", "unsub"), "nehmen": ("aus", "remove"), "nehmt": ("aus", "remove"),
             "haal": ("van", "remove"), "haalt": ("van", "remove")}

# verbs of our sending mail: what "stop ..." or "don't ..." stops when it is our mail
SENDS = _words(
    "send sending email emailing mail mailing message messaging write writing contact contacting spam spamming "
    "bother bothering pester pestering harass harassing remind reminding ping pinging bug bugging nag nagging "
    "contacted emailed mailed spammed messaged reminded bothered "
    "schicken senden zusenden zuschicken schreiben anschreiben mailen emailen kontaktieren belastigen nerven "
    "erinnern zuspammen spammen schickt sendet schreibt schick schicke sende "
    "envoyer envoyez envoie ecrire ecrivez ecris contacter contactez relancer relancez spammer spammez harceler "
    "harcelez solliciter sollicitez importuner deranger derangez "
    "enviar envien envie envies enviad mandar manden mande mandes escribir escriban escriba contactar contacten "
    "contacte molestar molesten moleste spamear acosar recordar "
    "sturen stuur stuurt zenden zend versturen verstuur toesturen emailen schrijven contacteren contacteer "
    "benaderen benader lastigvallen spammen herinneren "
    "inviare inviate invia mandare mandate manda scrivere scrivete scrivi contattare contattate contatta disturbare "
    "disturbate spammare importunare sollecitare ricordare "
    "enviem mandem escrever escrevam escreva contactem contatar contatem contate incomodar incomodem importunar "
    "spammar lembrar "
    # gerunds ("no me sigan enviando"), past subjunctives ("que no me enviaran"), asking ("stop asking me")
    "enviando mandando escribiendo contactando escribiendome enviaran mandaran escribieran inviando scrivendo "
    "contattando escrevendo contatando enviassem mandassem reecrire "
    "ask asking preguntar preguntando pregunten nachfragen demander chiedere domandare perguntar vragen "
    "zuzusenden zuzuschicken adresser adressez mailen mailt")
# of those, the ones that are about mail only with a person as their object ("stop bothering me")
SENDS_NEED_PERSON = _words(
    "bother bothering pester pestering harass harassing remind reminding ping pinging bug bugging nag nagging "
    "bothered reminded belastigen nerven erinnern deranger derangez importuner harceler harcelez molestar molesten "
    "moleste acosar recordar lastigvallen herinneren disturbare disturbate importunare ricordare incomodar "
    "incomodem importunar lembrar ask asking preguntar preguntando pregunten nachfragen demander chiedere "
    "domandare perguntar vragen")
RECEIVES = _words("receive receiving received receives get getting gets got erhalten erhalte bekommen bekomme "
                  "empfangen kriegen kriege recevoir recois recevons recu recibir recibo recibimos ontvangen ontvang "
                  "krijgen krijg ricevere ricevo riceviamo receber recebo recebemos")
DESIRES = _words("want wanna wish need like prefer rather mochte mochten will wollen wunsche wunschen brauche brauchen "
                 "prefiero preferiria preferiamos prefiro preferirei preferisco preferiamo prefere prefereria "
                 "veut prefererais prefererions "
                 "benotige mag veux voulons voudrais souhaite souhaitons souhaiterais desire aimerais quiero "
                 "queremos quisiera deseo deseamos necesito wil willen wens hoef voglio vogliamo vorrei desidero "
                 "quero gostaria desejo preciso")
# verbs and nouns that can only mean leaving a list: unsubscribe, abmelden, desabonner, darse de baja ...
UNSUBSCRIBES = _words(
    "unsubscribe unsubscribing unsubscribed unsub unsubscription optout abmelden abmeldung abbestellen "
    "abbestellung austragen desabonner desabonnez desabonne desabonnement desinscrire desinscrivez desinscris "
    "desinscription desuscribir desuscriban desuscribe desuscripcion darsedebaja afmelden "
    "afmelding uitschrijven uitschrijving disiscrivere disiscrivimi disiscrivetemi disiscrivete disiscrizione "
    "descadastrar descadastre descadastrem descadastramento avregistrera afmeld avmeld wypisz wypisac "
    "odhlasit odhlaste отписаться отписать")
# German and Dutch put the object before these ("mein Auto abmelden" is not about mail)
VERB_LAST = _words("abmelden abbestellen austragen afmelden uitschrijven")
VERB_LAST_FILLER = _words("hiermit bitte gerne gern sofort einfach endlich ganz direkt auch jetzt nun doch hierbij "
                          "graag even nu ook direct")
LEADS_LAST = _words("mochte will wollen mochten wil willen graag mich uns me mij ons zu te")
UNSUBSCRIBE_ALONE = _words("baja")  # "baja" is also "low": only a clause of its own asks to leave
UNSUBSCRIBE_MARKS = ("退订", "退訂", "取消订阅", "取消訂閱", "配信停止", "購読解除", "수신거부")  # inside a CJK run
# verbs that take the writer off something: only about our mail with "me" and a list, or "my address"
REMOVES = _words(
    "remove delete drop take erase exclude unlist entfernen entfernt entferne loschen streichen streicht "
    "retirer retirez retire supprimer supprimez supprime enlever enlevez rayer rayez effacer effacez radier radiez "
    "eliminar eliminen elimine eliminad quitar quiten quite quitad borrar borren borre sacar saquen saque excluir "
    "excluyan remover remuevan verwijderen verwijder verwijdert schrap schrappen rimuovere rimuovete rimuovi "
    "togliere togliete togli cancellare cancellate cancella eliminate elimina escludere removam remova retirem "
    "tirar tirem tire excluam exclua apagar apaguem eliminem "
    "quitaran quitasen sacaran sacasen borraran eliminaran excluyeran retiraran")
FROMS = _words("from off of von vom aus de du des d' del van uit voor da dal dalla dai dalle dagli dallo dall' "
               "di do dos das em na no")
NEGATIONS = _words("don't never not nicht nie niemals ne n' pas jamais no nunca nem ni jamas niet nooit non mai nao nn "
                   "didn't doesn't nolonger")
# "no more X": ended by nothing but politeness, it asks for no more of X
NO_MORE = _words("nomore plusde nomas keine keinen kein geen enough fini basta chega")
# pronouns that stand before their verb in French, Spanish, Italian and Portuguese ("me retirer")
CLITICS = _words("me m' nous mi ci nos se s' te")
# a person as the object: me, us, myself, and the formal "you" a German or Dutch imperative carries
PERSONS = _words("me us myself mich mir uns moi m' nous mij ons mi ci nos sie u jullie du te")
QUANTITY = _words("more further any anymore again ever mehr weitere weiteren plus mas meer verdere piu mais "
                  "other others otra otras otros altri altre outros outras autres andere anderen")
DETERMINERS = _words(
    "the a an all some such so many much of your ur these those this that what "
    "die der das den dem des diese diesen dieser dieses ihre ihren ihrem ihrer ihres eure euren eurem eurer solche "
    "alle irgendwelche noch "
    "les le la l' des de d' du ces vos votre tes ton ta tous toutes ce cet cette aucun aucune "
    "los las el del estos estas esos esas sus su tus todos todas ningun ninguna ese este esta esa un una unos "
    "het een deze dit dat uw jullie je zulke "
    "i il lo gli dei degli delle della questi queste quelle quei vostri vostre vostro vostra suoi sue tutte tutti "
    "nessuna nessun uno "
    "os as o do da dos das estes esses essas seus suas vossos todas um uma nenhum nenhuma "
    "allen allem aller qualsiasi qualunque cualquier cualquiera qualquer ogni cada every each jeden jede jedes "
    "chaque elke iedere")
DEMONSTRATIVES = _words("these this those that them it they diese dies ces ca cela ceux ceci estos estas esto eso "
                        "esos esas deze dit dat ze questi queste questo quello estes isto isso esses essas")
EVERYTHING = _words("anything everything all nothing alles nichts etwas tout rien todo nada algo niets iets "
                    "tutto niente nulla tudo")
# our mail, by whatever name a client gives it (a German or Dutch compound ends in one of MAIL_ENDINGS)
MAIL = _words(
    "email emails mail mails message messages msgs reminder reminders checkin checkins notification notifications "
    "newsletter newsletters update updates followup followups mailing mailings communication communications "
    "correspondence spam nudge nudges pings automails envoi envois envio envios invio invii zusendung zusendungen "
    "correspondance correspondencia corrispondenza "
    "nachricht nachrichten erinnerung erinnerungen benachrichtigung benachrichtigungen mitteilung mitteilungen "
    "rundschreiben rundmail rundmails werbung zuschriften "
    "courriel courriels rappel rappels relance relances infolettre infolettres pourriel pourriels "
    "correo correos mensaje mensajes recordatorio recordatorios notificacion notificaciones boletin boletines "
    "comunicacion comunicaciones "
    "bericht berichten berichtje berichtjes mailtje mailtjes herinnering herinneringen nieuwsbrief nieuwsbrieven "
    "notificatie notificaties melding meldingen "
    "messaggio messaggi promemoria notifica notifiche comunicazione comunicazioni sollecito solleciti "
    "mensagem mensagens lembrete lembretes notificacao notificacoes comunicacao comunicacoes "
    "avviso avvisi aviso avisos alert alerts alerta alertas alerte alertes nachfrage nachfragen statusmail "
    "statusmails survey surveys umfrage umfragen encuesta encuestas enquete enquetes sondaggio sondaggi "
    "questionario questionari pesquisa pesquisas suivis seguimientos opvolgingen acompanhamentos inquerito "
    "inqueritos")
MAIL_ENDINGS = ("mails", "nachrichten", "erinnerungen", "newsletter", "berichten", "herinneringen")
# what a writer is taken off that is our mail: a list (only one of mail: not a waiting list), the database
LISTS = _words("list lists maillist liste listes listen lista listas lijst lijsten elenco verteiler verteilerliste "
               "mailinglisten verteilerlisten mailinglijsten "
               "mailingliste mailinglijst verzendlijst adressenlijst contactlijst kontaktliste adressliste "
               "database datenbank system systems records crm contacts kontakte systeme fichier sistema registros "
               "systeem bestand archivio cadastro indirizzario rubrica")
LIST_ONLY_BARE = _words("list lists liste listes listen lista listas lijst lijsten elenco")  # "list" needs to be plain
LIST_OF_MAIL = _words("mailing email e mail mail distribution contact newsletter marketing subscriber subscription "
                      "sending mass promotional your the this our correo correos envio envoi envois diffusion "
                      "distribucion distribuzione invio emails")
ADDRESSES = _words("address addresses emailaddress adresse emailadresse mailadresse adres emailadres mailadres "
                   "direccion correo indirizzo endereco email details data daten donnees datos dati dados gegevens "
                   "contact")
MINE = _words("my mein meine meinen meiner mon ma mes mi mis mijn mio mia miei mie meu minha meus minhas our unsere "
              "notre nuestro nuestra onze nostro nostra nosso nossa")
# words that end what a verb's object can be: prepositions, conjunctions, time and manner words, thanks
BOUNDARIES = _words(
    ", about for from to of with by on in at regarding concerning re over after before until since because as like "
    "when while if unless that which who where and or but so please pls thanks thank now immediately anymore "
    "again ever altogether right asap today already twice once thx too me us you "
    "mehr zu von vom uber fur mit an bitte und oder aber wegen zum zur im auf aus nach bei per danke sofort jetzt "
    "mir mich uns "
    "de du des d' pour par sur avec a au aux en concernant svp merci et ou mais car parce jamais maintenant "
    "del por para sobre con al y o pero porque gracias ya nunca ahora porfavor "
    "van voor over met naar aan op en of maar omdat meer graag bedankt alsjeblieft aub "
    "di della dei degli delle da dal dalla su alla e ma perche piu grazie ora subito mai "
    "do da dos das com ao em no na mas obrigado obrigada agora "
    # "don't write to me every day": when, not what
    "day days giorno giorni dia dias tag tage jour jours dag dagen week weeks semana semanas woche wochen "
    "settimana settimane semaine semaines "
    "af raus heraus weg "
    # "n precisa mais me mandar email nao": the Brazilian closing negation ends the phrase
    "nao non")  # the particle that ends "haal me van de lijst af", "nehmen Sie mich raus"
# greetings, thanks, sign-offs and mail programs' lines: no request, no concern
FILLER = _words(
    "raga ragazzi gente galera pessoal chicos guys folks leute jongens vlw valeu obg brigado bjs abs "
    "po pues eh hein hoor ne ff lol haha jaja mdr xd bro mate though tho "
    "voi voces ustedes mesmos mismos stessi yourselves "
    "hi hello hey dear thanks thank you thx ty regards best kind warm warmest cheers sincerely yours please pls ok "
    "okay sent from my iphone ipad android phone mobile samsung galaxy outlook team all the sorry good morning "
    "afternoon evening many much very a lot again in advance appreciated greetings bye br rgds kr "
    "hallo danke vielen dank gruss grusse mit freundlichen beste liebe lieben viele schone schonen guten tag morgen "
    "bitte sehr geehrte geehrter herzliche mfg lg vg "
    "bonjour bonsoir salut merci beaucoup cordialement salutations bonne journee soiree bien vous madame monsieur "
    "chere cher envoye de mon "
    "hola gracias saludos atentamente un cordial saludo buenos buenas dias tardes muchas estimado estimada enviado "
    "desde mi abrazo "
    "hoi dank bedankt groeten groet met vriendelijke hartelijke goedemorgen dag mvg verzonden vanaf mijn "
    "ciao salve grazie saluti cordiali distinti buongiorno buonasera mille inviato da "
    "ola oi obrigado obrigada cumprimentos atenciosamente abraco abracos bom dia boa tarde do meu "
    # "por favor," / "per favore," (both read as one word), "s'il vous plaît," / "svp", "alstublieft,": a
    # request's politeness standing as a clause of its own, as "please," and "bitte," do
    "porfavor porfa svp stp alstublieft alsjeblieft aub "
    # the salutations and sign-offs of formal letters in each language
    "damen und herren grussen gruessen hochachtungsvoll freundliche freundlichem "
    "distinguees amicalement bises messieurs mesdames veuillez agreer recevoir mes nos l' expression de "
    "sentiments meilleurs respectueuses "
    "saludo cordialmente atte estimados estimadas senor senora senores senoras "
    "gentile gentili spettabile egregio egregia buona giornata cordialmente "
    "goedemiddag goedenavond goedendag geachte heer mevrouw vriendelijke groeten "
    "boa noite caro cara prezado prezada prezados senhor senhora senhores")
GREETINGS = _words("hi hello hey dear hallo liebe lieber bonjour bonsoir salut hola estimado estimada hoi beste "
                   "ciao salve buongiorno ola oi")
# the words that start a new clause inside a sentence
CLAUSE_STARTS = _words(", and but so then und aber dann et mais alors donc puis y pero entonces en maar dus e ma "
                       "allora quindi "
                       # a wish's subjunctive starts a request of its own: "peço que não me enviem ..."
                       "que")
# a sentence is read as Romance (its noun before its adjectives) by these, unless English ones are in it
ROMANCE = _words("de des du la le les los las el del di il gli dei delle os do da dos das aux au por per pour vos "
                 "sus seus vostri vostre ne n' que che et y")
ENGLISH = _words("the your my me these this please to")
# "don't send (any more) to the technician": a recipient other than the writer
RECIPIENT_MARKS = _words("to a al ao aos a la au aux alla allo al")
# a pronoun that stands for a thing before the verb: "ya no lo quiero", "je ne le veux plus", "non lo voglio"
THING_CLITICS = _words("lo la los las le les l' o os as it das het")
# enough: "that's enough emails", "das reicht mit den Mails", "ça fait assez de mails", "genoeg met de mails"
ENOUGH = _words("enough reicht genug assez genoeg")
# replying: "es reicht, auf diese Nachricht zu antworten" (our own letters say it) suffices, it asks nothing
REPLIES = _words("reply replying respond answer antworten beantworten repondre repondez responder responda "
                 "contestar conteste rispondere rispondete rispondi antwoorden antwoord reageren responda respondam")
