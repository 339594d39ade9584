"""Mail passed on by lists and groups, in the shapes the real ones write (issue 17, point 2).

Each builder returns raw bytes as the shared mailbox receives them: Google Groups (with and
without Google's DMARC rewrite of From), Mailman 2 and 3 (plain and with From munged), Sympa,
LISTSERV and Microsoft 365 groups; a list passing on a newsletter, a list's digest, and our
own acknowledgement coming back through a client's group. Headers follow the order and
spelling those programs use (CRLF, folded lines, upper-case LISTSERV addresses), not one
template with the names swapped.
"""

from __future__ import annotations

import itertools

_seq = itertools.count(1)

OURS = "care@example.test"
COMPLAINTS = ("This is unacceptable, the invoice is wrong again and nobody called back.",
              "I am really worried: the delivery for our shop is three days late and nobody answers the phone.",
              "We were charged twice for March and I am furious. Please fix this today.",
              "Your technician never came on Tuesday. This is the second time, I am very disappointed.")


def _mid(domain: str) -> str:
    return f"<CAF{next(_seq):06d}x+rLq{next(_seq)}@{domain}>"


def _join(headers: list[str], body: str, ctype: str = 'text/plain; charset="UTF-8"') -> bytes:
    head = "\r\n".join(h.replace("\n", "\r\n") for h in headers)
    return (f"{head}\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def google_group(*, author: str = "Marta Silva", addr: str = "marta.silva@client.example", group: str = OURS,
                 group_name: str = "Care", to: str | None = None, rewritten: bool = False,
                 reply_to_group: bool = False, body: str = COMPLAINTS[0], subject: str = "Invoice 2291 wrong again",
                 extra: tuple[str, ...] = ()) -> bytes:
    """A post through a Google Group (Workspace or googlegroups.com); `rewritten`: Google's DMARC rewrite."""
    local, _, domain = group.partition("@")
    sender = f"\"'{author}' via {group_name}\" <{group}>" if rewritten else f"{author} <{addr}>"
    headers = [
        f"Received: by mail-sor-f41.google.com with SMTP id a1sor{next(_seq)}; Tue, 9 Dec 2026 09:12:01 -0800",
        *extra,
        f"From: {sender}",
        "Date: Tue, 9 Dec 2026 18:11:52 +0100",
        f"Message-ID: {_mid('mail.gmail.com')}",
        f"Subject: {subject}",
        f"To: {to or group_name + ' <' + group + '>'}",
        f"X-Original-Sender: {addr}",
        "X-Original-Authentication-Results: mx.google.com;       dkim=pass\n header.i=@"
        f"{addr.partition('@')[2]} header.s=s1 header.b=AbCd;       dmarc=pass (p=REJECT sp=REJECT dis=NONE)"
        f" header.from={addr.partition('@')[2]}",
    ]
    if rewritten:
        headers.append(f"X-Original-From: {author} <{addr}>")
        headers.append(f"Reply-To: {group_name} <{group}>" if reply_to_group else f"Reply-To: {author} <{addr}>")
    else:
        headers.append(f"Sender: {group}")
    headers += [
        "Precedence: list",
        f"Mailing-list: list {group}; contact {local}+owners@{domain}",
        f"List-ID: <{local}.{domain}>",
        f"X-Spam-Checked-In-Group: {group}",
        "X-Google-Group-Id: 4815162342",
        f"List-Post: <https://groups.google.com/a/{domain}/group/{local}/post>, <mailto:{group}>",
        f"List-Help: <https://support.google.com/a/{domain}/bin/topic.py?topic=25838>,\n <mailto:{local}+help@{domain}>",
        f"List-Archive: <https://groups.google.com/a/{domain}/group/{local}/>",
        "List-Unsubscribe: <mailto:googlegroups-manage+4815162342+unsubscribe@googlegroups.com>,\n"
        f" <https://groups.google.com/a/{domain}/group/{local}/subscribe>",
    ]
    footer = (f"\n\n-- \nYou received this message because you are subscribed to the Google Groups \"{group_name}\""
              f" group.\nTo view this discussion visit https://groups.google.com/a/{domain}/d/msgid/{local}/x.\n")
    return _join(headers, body + footer)


def mailman2(*, author: str = "Marta Silva", addr: str = "marta.silva@client.example",
             listaddr: str = "team@lists.client.example", cc: str | None = OURS, munged: bool = False,
             body: str = COMPLAINTS[1], subject: str = "[Team] Delivery still missing") -> bytes:
    """A post through a Mailman 2.1 list; `munged`: dmarc_moderation_action = Munge From."""
    local, _, domain = listaddr.partition("@")
    headers = [f"Return-Path: <{local}-bounces@{domain}>", f"X-Original-To: {OURS}",
               f"Received: from mail.{domain} (mail.{domain} [192.0.2.7]) by mx.example.test (Postfix)",
               f"From: \"{author} via {local.capitalize()}\" <{listaddr}>" if munged else f"From: {author} <{addr}>",
               f"To: {listaddr}"]
    if cc:
        headers.append(f"Cc: {cc}")
    headers += [f"Subject: {subject}", "Date: Tue, 09 Dec 2026 10:02:11 +0000", f"Message-ID: {_mid('client.example')}"]
    if munged:
        headers.append(f"Reply-To: {author} <{addr}>")
    headers += ["X-BeenThere: " + listaddr, "X-Mailman-Version: 2.1.39", "Precedence: list",
                f"List-Id: {local.capitalize()} team list <{local}.{domain}>",
                f"List-Unsubscribe: <https://{domain}/mailman/options/{local}>,\n <mailto:{local}-request@{domain}?subject=unsubscribe>",
                f"List-Archive: <https://{domain}/pipermail/{local}/>", f"List-Post: <mailto:{listaddr}>",
                f"List-Help: <mailto:{local}-request@{domain}?subject=help>",
                f"List-Subscribe: <https://{domain}/mailman/listinfo/{local}>,\n <mailto:{local}-request@{domain}?subject=subscribe>",
                f"Errors-To: {local}-bounces@{domain}", f"Sender: \"{local.capitalize()}\" <{local}-bounces@{domain}>"]
    footer = (f"\n_______________________________________________\n{local.capitalize()} mailing list\n{listaddr}\n"
              f"https://{domain}/mailman/listinfo/{local}\n")
    return _join(headers, body + footer)


def mailman3(*, author: str = "Jürgen Weiß", addr: str = "juergen.weiss@kunde.example",
             listaddr: str = "projekt@lists.kunde.example", cc: str | None = None, munge: str = "",
             body: str = COMPLAINTS[2], subject: str = "[Projekt] Doppelt abgebucht") -> bytes:
    """A post through a Mailman 3 list; `munge`: "reply-to" (the author in Reply-To) or "cc" (replies go to
    the list, so the author is in Cc), as its DMARC mitigation writes."""
    local, _, domain = listaddr.partition("@")
    name = "=?utf-8?q?J=C3=BCrgen_Wei=C3=9F?="
    if munge:
        frm = f"From: =?utf-8?q?J=C3=BCrgen_Wei=C3=9F_via_{local.capitalize()}?= <{listaddr}>"
    else:
        frm = f"From: {name} <{addr}>"
    headers = [frm, f"To: {listaddr}"]
    cc_all = [c for c in (cc, f"{name} <{addr}>" if munge == "cc" else None) if c]
    if cc_all:
        headers.append("Cc: " + ", ".join(cc_all))
    if munge == "reply-to":
        headers.append(f"Reply-To: {name} <{addr}>")
    elif munge == "cc":
        headers.append(f"Reply-To: {listaddr}")
    headers += [f"Subject: {subject}", "Date: Tue, 9 Dec 2026 11:30:00 +0100", f"Message-ID: {_mid(addr.partition('@')[2])}",
                "Message-ID-Hash: 7CTA2ZKJ4YQ3JLJ6B5XWDYL5ZPZ3VAXD", "X-Message-ID-Hash: 7CTA2ZKJ4YQ3JLJ6B5XWDYL5ZPZ3VAXD",
                f"X-MailFrom: {addr}", "X-Mailman-Rule-Misses: dmarc-mitigation; no-senders; approved; loop; banned-address;"
                " header-match-config-0; emergency; member-moderation", "X-Mailman-Version: 3.3.9", "Precedence: list",
                f"List-Id: <{local}.{domain}>", f"Archived-At: <https://{domain}/archives/list/{listaddr}/message/7CTA/>",
                f"List-Archive: <https://{domain}/archives/list/{listaddr}/>", f"List-Help: <mailto:{local}-request@{domain}?subject=help>",
                f"List-Owner: <mailto:{local}-owner@{domain}>", f"List-Post: <mailto:{listaddr}>",
                f"List-Subscribe: <mailto:{local}-join@{domain}>", f"List-Unsubscribe: <mailto:{local}-leave@{domain}>"]
    footer = (f"\n_______________________________________________\n{local.capitalize()} mailing list -- {listaddr}\n"
              f"To unsubscribe send an email to {local}-leave@{domain}\n")
    return _join(headers, body + footer)


def sympa(*, author: str = "Anne Dupont", addr: str = "anne.dupont@client.example",
          listaddr: str = "clients@listes.client.example", cc: str | None = OURS, protected: bool = False,
          body: str = COMPLAINTS[3]) -> bytes:
    """A post through a Sympa list; `protected`: its DMARC protection ("name via list", X-Original-From)."""
    local, _, domain = listaddr.partition("@")
    headers = [f"From: \"{author} via {local}\" <{listaddr}>" if protected else f"From: {author} <{addr}>"]
    if protected:
        headers.append(f"X-Original-From: {author} <{addr}>")
    headers += [f"To: {listaddr}"] + ([f"Cc: {cc}"] if cc else []) + [
        "Subject: [clients] technician never came", "Date: Tue, 9 Dec 2026 09:00:00 +0100",
        f"Message-ID: {_mid('client.example')}", f"Sender: {local}-owner@{domain}",
        f"Errors-To: {local}-owner@{domain}", f"X-Loop: {listaddr}", "X-Sequence: 1203", "Precedence: list",
        f"List-Id: <{local}.{domain}>", f"List-Help: <mailto:sympa@{domain}?subject=help>",
        f"List-Subscribe: <mailto:sympa@{domain}?subject=subscribe%20{local}>",
        f"List-Unsubscribe: <mailto:sympa@{domain}?subject=unsubscribe%20{local}>",
        f"List-Post: <mailto:{listaddr}>", f"List-Owner: <mailto:{local}-request@{domain}>",
        f"List-Archive: <https://{domain}/sympa/arc/{local}>"]
    return _join(headers, body)


def listserv(*, author: str = "Pat Kowalski", addr: str = "pat.kowalski@client.example",
             listname: str = "CLIENT-USERS", host: str = "LISTSERV.CLIENT.EXAMPLE", cc: str | None = OURS,
             body: str = COMPLAINTS[0]) -> bytes:
    """A post through an L-Soft LISTSERV list: Sender and Reply-To are the list, in upper case."""
    listaddr = f"{listname}@{host}"
    headers = ["Date: Tue, 9 Dec 2026 08:41:13 -0500", f"Reply-To: Client users <{listaddr}>",
               f"Sender: Client users <{listaddr}>",
               f"From: {author} <{addr}>", "Subject: Invoice wrong again", f"To: {listaddr}"]
    if cc:
        headers.append(f"Cc: {cc}")
    headers += [f"Message-ID: {_mid('CLIENT.EXAMPLE')}",
                f"List-Help: <http://{host.lower()}/cgi-bin/wa?LIST={listname}>,\n <mailto:LISTSERV@{host}?body=INFO%20{listname}>",
                f"List-Unsubscribe: <mailto:{listname}-unsubscribe-request@{host}>",
                f"List-Subscribe: <mailto:{listname}-subscribe-request@{host}>",
                f"List-Owner: <mailto:{listname}-request@{host}>",
                f"List-Archive: <http://{host.lower()}/cgi-bin/wa?LIST={listname}>"]
    return _join(headers, body)


def microsoft365_group(*, author: str = "Sam Lee", addr: str = "sam.lee@client.example", group: str = OURS,
                       body: str = COMPLAINTS[1]) -> bytes:
    """A message to a Microsoft 365 group as a member's copy: From the author, Sender the group, Exchange's headers."""
    headers = [f"From: {author} <{addr}>", f"Sender: Care <{group}>", f"To: Care <{group}>",
               "Subject: Delivery three days late", "Thread-Topic: Delivery three days late",
               "Thread-Index: AQHbSZk1kWq3n0bK0E2m9yZ3p5kq9w==", "Date: Tue, 9 Dec 2026 14:02:19 +0000",
               f"Message-ID: <DB9PR0{next(_seq)}MB4321.eurprd05.prod.outlook.com>", "Accept-Language: en-GB, en-US",
               "Content-Language: en-GB", "X-MS-Has-Attach:", "X-MS-TNEF-Correlator:",
               "X-MS-Exchange-Organization-AuthAs: Anonymous", "X-MS-Exchange-Organization-SCL: 1",
               f"Reply-To: {author} <{addr}>"]
    return _join(headers, body)


def own_group_no_list_headers(*, author: str = "Marta Silva", addr: str = "marta.silva@client.example",
                              body: str = COMPLAINTS[2]) -> bytes:
    """Our shared address is itself a group that rewrote From to itself and kept only Reply-To."""
    headers = [f"From: \"{author} via Care\" <{OURS}>", f"Reply-To: \"{author}\" <{addr}>", f"To: <{OURS}>",
               "Subject: Charged twice", "Date: Tue, 9 Dec 2026 12:00:00 +0000", f"Message-ID: {_mid('client.example')}"]
    return _join(headers, body)


# -- what must stay machine mail ---------------------------------------------------------

NEWSLETTER = ("URGENT: your last chance! We are worried you will miss our biggest sale. This is unacceptable "
              "pricing from our competitors: save 40% today on every plan.")


def mailman_relaying_a_newsletter() -> bytes:
    """A newsletter a client's Mailman list passed on: its own Precedence: bulk stays first."""
    raw = mailman2(author="Brand News", addr="news@brand.example", cc=OURS, body=NEWSLETTER,
                   subject="[Team] Our biggest sale")
    return raw.replace(b"Subject:", b"Precedence: bulk\r\nX-CSA-Complaints: csa-complaints@eco.de\r\nSubject:", 1)


def google_group_relaying_a_noreply_newsletter() -> bytes:
    """A no-reply newsletter Google rewrote ("'Brand' via Care"): its author is a no-reply address."""
    return google_group(author="Brand Offers", addr="no-reply@offers.brand.example", rewritten=True,
                        body=NEWSLETTER, subject="Last chance: 40% off")


def google_group_relaying_a_bulk_mailer() -> bytes:
    """A campaign from a bulk mailer, passed on by our own group unrewritten."""
    return google_group(author="Shop Deals", addr="deals@shop.example", body=NEWSLETTER, subject="Deals inside",
                        extra=("X-Mailer: Mailchimp Mailer - **CIDa1b2c3**", "X-Campaign: mailchimp.a1b2c3.d4"))


def mailman_digest() -> bytes:
    """A list's digest: From its -request robot; nobody wrote it."""
    raw = mailman2(author="Team digest", addr="team-request@lists.client.example",
                   subject="Team Digest, Vol 12, Issue 3", body="Today's Topics:\n\n 1. Invoice wrong again "
                   "(Marta Silva)\n\nThis is unacceptable, the invoice is wrong again and nobody called back.")
    return raw


def announce_only_list() -> bytes:
    """An announcement list (its members cannot post: List-Post: NO) passing on a campaign."""
    raw = mailman2(author="Vendor Updates", addr="updates@vendor.example", listaddr="announce@lists.vendor.example",
                   body=NEWSLETTER, subject="[Announce] Price change")
    return raw.replace(b"List-Post: <mailto:announce@lists.vendor.example>", b"List-Post: NO")


def list_we_only_read() -> bytes:
    """A post to an industry list the shared mailbox subscribes to: not to us, not a client's list."""
    return mailman2(author="Someone Else", addr="someone@otherfirm.example", listaddr="forum@lists.industry.example",
                    cc=None, subject="[Forum] my supplier is terrible")


def our_ack_back_through_a_group(ack: bytes, *, keep: bytes) -> bytes:
    """Our own acknowledgement, passed back to us by a client's Google Group that rewrote its From; of our
    marks it keeps only the header `keep` names (b"message-id" or b"x-followup-instance")."""
    head, _, body = ack.partition(b"\r\n\r\n")
    drop = (b"from:", b"to:", *(m for m in (b"message-id:", b"x-followup-instance:") if m != keep + b":"))
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(drop)]
    if keep != b"message-id":
        lines.append(b"Message-ID: <group-copy-" + str(next(_seq)).encode() + b"@client.example>")
    group = b"team@client.example"
    extra = [b"From: \"'Care' via Team\" <" + group + b">", b"To: Team <" + group + b">",
             b"X-Original-From: Care <care@example.test>", b"Reply-To: Care <care@example.test>",
             b"Precedence: list", b"Mailing-list: list " + group + b"; contact team+owners@client.example",
             b"List-ID: <team.client.example>", b"X-Google-Group-Id: 99887766",
             b"List-Post: <mailto:" + group + b">"]
    return b"\r\n".join([*extra, *lines]) + b"\r\n\r\n" + body
