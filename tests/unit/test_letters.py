"""The one way out, pure half: each kind of automatic message gets the right headers; the gate's rules. No I/O."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from service.core import letters
from service.core.businesstime import BusinessHours
from service.core.digest_view import Entry, digest_context, digest_subject
from service.core.letters import HANDLING, Links, Purpose, Refusal
from service.core.owner_commands import Problem, signed_address, verify_tag
from service.mailformat.parse import parse_message

from mailfactory import client_mail

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
SENDER = letters.Sender("care@example.test", "Client care", "example.test")
KEY = b"k" * 32
CLIENT = "ana@client.example"
UNSUBSCRIBE = letters.unsubscribe_mailto(signed_address(SENDER.address, KEY, CLIENT, "u7"))
INBOUND = parse_message(client_mail(sender=f"Ana Lima <{CLIENT}>", to=SENDER.address, subject="Invoice charged twice",
                                    message_id="<in1@client.example>", in_reply_to="<older@client.example>"))
OWNER_MAIL = parse_message(client_mail(sender="Boss <boss@example.test>", to=SENDER.address,
                                       subject="Re: Digest", message_id="<own1@example.test>"))


def client_ctx(**extra: Any) -> dict[str, Any]:
    return {**letters.client_context(client_name="Ana Lima", token="C-3", subject="Invoice", kind="complaint",
                                     team_name=SENDER.name, handler_name="Mia", unsubscribe=UNSUBSCRIBE), **extra}


def request(purpose: Purpose) -> letters.LetterRequest:
    """One request of each kind, as its flow builds it."""
    if purpose is Purpose.ACK:
        return letters.acknowledgement(INBOUND, sender=SENDER, token="C-3", kind="complaint",
                                       evidence=["We were charged twice."], respond_by="Monday 17:00 UTC",
                                       template="ack_complaint", handler_name="Mia", unsubscribe=UNSUBSCRIBE,
                                       links=Links(3, 7), now=NOW)
    if purpose is Purpose.CHECKIN:
        return letters.to_client(purpose, sender=SENDER, template="checkin",
                                 context=client_ctx(done_steps=[{"text": "refund"}], planned_steps=[], still_open=[],
                                                    severity="normal"),
                                 to_addr=CLIENT, to_name="Ana Lima", subject="Re: Invoice [#C-3]",
                                 dedupe_key="checkin:C-3:1", last_message_id="<last@example.test>", concern="C-3",
                                 links=Links(3, 7), now=NOW)
    if purpose is Purpose.CLOSING:
        return letters.to_client(purpose, sender=SENDER, template="closing",
                                 context=client_ctx(done=["Refund"], note=""), to_addr=CLIENT, to_name="Ana Lima",
                                 subject="Re: Invoice [#C-3]", dedupe_key="closing:C-3:0",
                                 last_message_id="<last@example.test>", concern="C-3", links=Links(3, 7), now=NOW)
    if purpose is Purpose.REMINDER:
        return letters.to_client(purpose, sender=SENDER, template="reminder",
                                 context=client_ctx(token="E-2", title="Move", type="move", when="Friday",
                                                    days=3, place="", open_items=["Keys"], done_items=[]),
                                 to_addr=CLIENT, to_name="Ana Lima", subject="Move: in 3 days [#E-2]",
                                 dedupe_key="remind:E-2:3", last_message_id=None, concern=None,
                                 links=Links(None, 7, 2), now=NOW)
    if purpose in (Purpose.DIGEST, Purpose.ALERT):
        entry = Entry(token="C-3", account="default", client=CLIENT, kind="complaint", severity="high",
                      status="acknowledged", level=1, created_at=NOW - timedelta(days=1), subject="Invoice",
                      words=("charged twice",), missing=("no plan",))
        alert = purpose is Purpose.ALERT
        context = digest_context("boss@example.test", [entry], NOW, alert=alert, team_name=SENDER.name,
                                 hours=BusinessHours.parse("UTC", "09:00-17:00"))
        return letters.digest(alert=alert, sender=SENDER, recipient="boss@example.test",
                              subject=digest_subject(context), context=context, message_id="<d1@example.test>",
                              digest_id=1, reply_to=signed_address(SENDER.address, KEY, "boss@example.test", "d1"),
                              now=NOW)
    if purpose is Purpose.OPTOUT_CONFIRM:
        return letters.opt_out_confirmation(INBOUND, sender=SENDER, context=client_ctx(), to_addr=CLIENT,
                                            to_name="Ana Lima", opted_out_at=NOW, concern="C-3", links=Links(3, 7),
                                            now=NOW)
    if purpose is Purpose.INCIDENT:
        return letters.incident(sender=SENDER, operator="ops@example.test", incident_id=4, ended=False,
                                subject="[followup] Incident: the inbox cannot be read", now=NOW, context={
                                    "title": "the inbox cannot be read", "detail": "login refused", "ended": False,
                                    "advice": "run followup check", "since": "2026-11-20 10:00 UTC",
                                    "ended_at": "", "lasted": "", "instance": SENDER.address})
    assert purpose is Purpose.CONFIRM
    return letters.confirmation(OWNER_MAIL, sender=SENDER, now=NOW, context={
        "recorded": ["C-3 #1: call Ana"], "problems": [Problem("C-9 soon", "no such concern")],
        "team_name": SENDER.name})


def composed(purpose: Purpose) -> tuple[letters.LetterRequest, EmailMessage]:
    req = request(purpose)
    [made] = letters.compose_letters([req])
    assert isinstance(made, letters.Composed)
    return req, message_from_bytes(made.raw, policy=policy.default)  # type: ignore[return-value]


def test_the_stored_purposes_stay_as_they_were() -> None:
    assert [p.value for p in Purpose] == ["ack", "checkin", "closing", "reminder", "digest", "alert", "confirm",
                                          "optout_confirm", "incident"]
    assert set(HANDLING) == set(Purpose)
    assert letters.CLIENT_BOUND == (Purpose.ACK, Purpose.CHECKIN, Purpose.CLOSING, Purpose.REMINDER,
                                    Purpose.OPTOUT_CONFIRM)
    # only an acknowledgement's key is left to the outbox's unique index: its concern has no other
    assert [p for p in Purpose if not HANDLING[p].key_looked_up] == [Purpose.ACK]


# kind, Auto-Submitted, In-Reply-To, References, X-Followup-Concern
@pytest.mark.parametrize(("purpose", "auto", "in_reply_to", "references", "concern"), [
    (Purpose.ACK, "auto-replied", "<in1@client.example>", "<older@client.example> <in1@client.example>", "C-3"),
    (Purpose.CHECKIN, "auto-generated", "<last@example.test>", "<last@example.test>", "C-3"),
    (Purpose.CLOSING, "auto-generated", "<last@example.test>", "<last@example.test>", "C-3"),
    (Purpose.REMINDER, "auto-generated", None, None, None),  # an event's first message starts its thread
    (Purpose.DIGEST, "auto-generated", None, None, None),
    (Purpose.ALERT, "auto-generated", None, None, None),
    (Purpose.CONFIRM, "auto-replied", "<own1@example.test>", "<own1@example.test>", None),
    (Purpose.OPTOUT_CONFIRM, "auto-replied", "<in1@client.example>",
     "<older@client.example> <in1@client.example>", "C-3"),
    (Purpose.INCIDENT, "auto-generated", None, None, None),
])
def test_each_kind_gets_its_headers(purpose: Purpose, auto: str, in_reply_to: str | None,
                                    references: str | None, concern: str | None) -> None:
    req, msg = composed(purpose)
    assert msg["Auto-Submitted"] == auto and msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == in_reply_to and msg["References"] == references
    assert msg["X-Followup-Instance"] == SENDER.address
    assert msg["X-Followup-Concern"] == concern
    assert msg["Message-ID"] == req.message_id and msg["Subject"] == req.subject
    assert (msg["Reply-To"] is not None) == (purpose in (Purpose.DIGEST, Purpose.ALERT))


@pytest.mark.parametrize("purpose", list(Purpose))
def test_every_message_to_a_client_carries_its_signed_unsubscribe_address_and_no_other_does(
        purpose: Purpose) -> None:
    _req, msg = composed(purpose)
    if not HANDLING[purpose].to_client:
        assert msg["List-Unsubscribe"] is None
        return
    header = str(msg["List-Unsubscribe"]).strip()  # folded: a long value goes on a line of its own
    assert header == f"<{UNSUBSCRIBE}>"
    target = header.strip("<>").removeprefix("mailto:")
    address, _, query = target.partition("?")
    assert query == "subject=stop"
    # mailed back from the client's address, it names the client (u7); from anyone else it names nobody
    assert verify_tag([address], KEY, CLIENT) == "u7"
    assert verify_tag([address], KEY, "mallory@client.example") is None


def test_owner_mail_has_the_digests_signed_reply_to() -> None:
    _req, msg = composed(Purpose.DIGEST)
    assert verify_tag([str(msg["Reply-To"])], KEY, "boss@example.test") == "d1"


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_request_cannot_leave_out_or_add_the_unsubscribe_address(purpose: Purpose) -> None:
    req = request(purpose)
    wrong = None if HANDLING[purpose].to_client else UNSUBSCRIBE
    with pytest.raises(ValueError, match="unsubscribe"):
        dataclasses.replace(req, unsubscribe=wrong)


@pytest.mark.parametrize("purpose", [Purpose.ACK, Purpose.DIGEST, Purpose.ALERT, Purpose.CONFIRM,
                                     Purpose.OPTOUT_CONFIRM])
def test_only_check_ins_closing_notes_and_reminders_are_started_to_a_client(purpose: Purpose) -> None:
    with pytest.raises(ValueError, match="not a message we start"):
        letters.to_client(purpose, sender=SENDER, template="checkin", context=client_ctx(), to_addr=CLIENT,
                          to_name="", subject="s", dedupe_key="k", last_message_id=None, concern=None,
                          links=Links(), now=NOW)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_requests_travel_to_the_prepare_process_and_compose_the_same_there(purpose: Purpose) -> None:
    req = request(purpose)
    again = pickle.loads(pickle.dumps(req))
    assert again == req
    [a], [b] = letters.compose_letters([req]), letters.compose_letters([again])
    assert isinstance(a, letters.Composed) and isinstance(b, letters.Composed)
    assert (a.message_id, a.to_addr, a.text) == (b.message_id, b.to_addr, b.text)


def test_what_a_message_row_keeps_and_an_unaddressable_request() -> None:
    [ack, checkin, bad] = letters.compose_letters([
        request(Purpose.ACK), request(Purpose.CHECKIN),
        dataclasses.replace(request(Purpose.CHECKIN), to_addr="two@a.example, three@b.example")])
    assert isinstance(ack, letters.Composed) and ack.text == "" and ack.to_addr == CLIENT
    assert isinstance(checkin, letters.Composed) and "Done: refund" in checkin.text
    assert isinstance(bad, Refusal) and bad.reason.startswith(letters.UNSENDABLE)
    assert "not a single plain address" in bad.reason and bad.retry_at is None


def test_keys_are_cut_to_the_columns_width() -> None:
    long = dataclasses.replace(INBOUND, message_id="<" + "x" * 300 + "@client.example>")
    assert len(letters.confirmation(long, sender=SENDER, context={}, now=NOW).dedupe_key) == 200
    req = letters.to_client(Purpose.REMINDER, sender=SENDER, template="reminder", context=client_ctx(),
                            to_addr=CLIENT, to_name="", subject="s", dedupe_key="r" * 300, last_message_id=None,
                            concern=None, links=Links(), now=NOW)
    assert len(req.dedupe_key) == 200


# -- the gate ----------------------------------------------------------------------------------

CAP, WINDOW = 3, timedelta(days=7)
THREE_THIS_WEEK = (NOW - timedelta(days=5), NOW - timedelta(days=4), NOW - timedelta(days=3))


@pytest.mark.parametrize(("purpose", "queued_before", "opted_out", "recent", "refusal"), [
    (Purpose.CHECKIN, False, False, (), None),
    (Purpose.CHECKIN, True, False, (), Refusal("already-queued")),
    (Purpose.CHECKIN, False, True, (), Refusal("client-asked-to-stop")),
    # three automatic mails this week already: wait until the oldest leaves the window
    (Purpose.CHECKIN, False, False, THREE_THIS_WEEK, Refusal("client-cap", NOW + timedelta(days=2))),
    (Purpose.CHECKIN, False, False, THREE_THIS_WEEK[1:], None),
    # older mail does not count
    (Purpose.CHECKIN, False, False, (NOW - timedelta(days=8), *THREE_THIS_WEEK[1:]), None),
    (Purpose.CLOSING, False, True, (), Refusal("client-asked-to-stop")),
    (Purpose.CLOSING, False, False, THREE_THIS_WEEK, None),  # the cap holds back check-ins only
    (Purpose.CLOSING, True, False, (), Refusal("already-queued")),
    (Purpose.REMINDER, False, True, (), Refusal("client-asked-to-stop")),
    (Purpose.REMINDER, False, False, THREE_THIS_WEEK, None),
    (Purpose.REMINDER, True, False, (), Refusal("already-queued")),
    # an acknowledgement answers the client at once: triage's own caps decide whether it is asked for,
    # but an address that asked us to stop gets nothing automatic, this included (issue 17, point 8)
    (Purpose.ACK, False, False, THREE_THIS_WEEK, None),
    (Purpose.ACK, False, True, (), Refusal("client-asked-to-stop")),
    (Purpose.ACK, True, False, (), Refusal("already-queued")),
    (Purpose.DIGEST, True, False, (), Refusal("already-queued")),
    (Purpose.ALERT, False, True, THREE_THIS_WEEK, None),
    (Purpose.CONFIRM, False, True, THREE_THIS_WEEK, None),
    (Purpose.CONFIRM, True, False, (), Refusal("already-queued")),
])
def test_gate(purpose: Purpose, queued_before: bool, opted_out: bool, recent: tuple[datetime, ...],
              refusal: Refusal | None) -> None:
    assert letters.gate(request(purpose), queued_before=queued_before, opted_out=opted_out, recent=recent,
                        cap=CAP, window=WINDOW) == refusal


def test_cap_window_slides() -> None:
    sent = tuple(NOW + timedelta(days=d) for d in (0, 1, 2))
    assert letters.cap_frees_at(sent, CAP, WINDOW, NOW + timedelta(days=3)) == NOW + timedelta(days=7)
    assert letters.cap_frees_at(sent, CAP, WINDOW, NOW + timedelta(days=7, minutes=1)) is None  # the oldest left
    assert letters.cap_frees_at(sent, 2, WINDOW, NOW + timedelta(days=3)) == NOW + timedelta(days=8)
