"""Issue 17, point 7, pure: the From header read the way DMARC reads it; Authentication-Results read properly."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.core.authenticity import authentication_failed, author, read_header, trusted_results

OWNER = "boss@acme.example"


def b64(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


@pytest.mark.parametrize(("values", "address"), [
    ((f"Boss <{OWNER}>",), OWNER),
    ((OWNER,), OWNER),
    ((f"<{OWNER}>",), OWNER),
    ((f"{OWNER} (Boss)",), OWNER),
    ((f'"Boss, Big" <{OWNER}>',), OWNER),
    ((f'"{OWNER}" <{OWNER}>',), OWNER),  # a mail program with no name set shows the address
    (("Boss <BOSS@Acme.Example>",), OWNER),
    ((f"{b64('Bößé Ünal')} <{OWNER}>",), OWNER),
    ((f'"Ana @ Acme" <{OWNER}>',), OWNER),  # an @ alone is no address
])
def test_one_plain_address_is_the_author(values: tuple[str, ...], address: str) -> None:
    assert author(values).address == address and author(values).problem is None


@pytest.mark.parametrize("values", [
    (),  # no From
    (f"Boss <{OWNER}>", "Eve <eve@evil.example>"),  # two From headers
    (f"{OWNER} <eve@evil.example>",),  # an unquoted address as the display name
    (f'"{OWNER}" <eve@evil.example>',),
    (f'"Support <{OWNER}>" <eve@evil.example>',),
    (f"{b64(OWNER)} <eve@evil.example>",),  # an address inside an encoded display name
    ("=?utf-8?q?boss=40acme=2Eexample?= <eve@evil.example>",),
    ("boss＠acme.example <eve@evil.example>",),  # a full-width @ is an @ to the eye
    (f"Eve <eve@evil.example> ({OWNER})",),  # in a comment
    (b64(f"Boss <{OWNER}>"),),  # the whole From one encoded word: DMARC finds no domain in it
    (b64(OWNER),),
    (f"Boss <{OWNER}>, Eve <eve@evil.example>",),
    ("Undisclosed recipients:;",),
    ("Boss <boss@>",),
    ("x" * 3000 + f" <{OWNER}>",),
])
def test_anything_else_has_no_author(values: tuple[str, ...]) -> None:
    assert author(values).address == "" and author(values).problem


@pytest.mark.parametrize(("headers", "ids", "failed"), [
    # DMARC failed for the From domain: refused whatever else passed
    (["mx.acme.example; dkim=pass header.d=evil.example header.s=s1; spf=pass smtp.mailfrom=evil.example;"
      " dmarc=fail (p=reject dis=none) header.from=acme.example"], (), True),
    (["mx.acme.example; dmarc = fail header.from = acme.example"], (), True),
    (["mx.acme.example; DMARC=FAIL"], (), True),
    (["mx.acme.example;\tdmarc=fail\t(p=none)"], (), True),
    (["mx.acme.example 1; dmarc=fail header.from=acme.example"], (), True),  # with a version
    # a pass in a comment or a property value is not a result
    (["mx.acme.example; dmarc=fail (dkim=pass dmarc=pass) header.from=acme.example"], (), True),
    (['mx.acme.example; spf=pass smtp.mailfrom="dmarc=pass"@evil.example; dkim=fail header.d=acme.example'],
     (), True),
    (["mx.acme.example; dkim=fail (dmarc=pass) header.d=acme.example"], (), True),
    # DKIM passing for another domain while SPF fails for ours, and no DMARC verdict
    (["mx.acme.example; dkim=pass header.d=evil.example; spf=fail smtp.mailfrom=acme.example"], (), True),
    (["mx.acme.example; dkim=pass header.d=evil.example; spf=softfail smtp.mailfrom=acme.example"], (), True),
    # a DMARC pass for another domain counts for nothing
    (["mx.acme.example; dmarc=pass header.from=evil.example; dkim=fail header.d=acme.example"], (), True),
    # aligned passes
    (["mx.acme.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example"], (), False),
    (["mx.acme.example; dkim=pass header.d=mail.acme.example; spf=fail smtp.mailfrom=bounce.other.example"],
     (), False),
    (["mx.acme.example; dkim=pass header.i=@acme.example; spf=fail"], (), False),
    (["mx.acme.example; dkim=pass header.d=news.acme.example; spf=fail smtp.mailfrom=acme.example"], (), False),
    # relaxed alignment is by organisational domain: a public suffix is no organisation
    (["mx.acme.example; dkim=pass header.d=example; spf=fail smtp.mailfrom=acme.example"], (), True),
    (["mx.x.co.uk; dkim=pass header.d=evil.co.uk; spf=fail smtp.mailfrom=acme.co.uk"], (), True),
    (["mx.google.com;       dkim=pass header.i=@acme.example header.s=s1 header.b=Ab+/cd;       spf=pass "
      "(google.com: domain of boss@acme.example designates 192.0.2.1 as permitted sender) "
      "smtp.mailfrom=boss@acme.example;       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=acme.example"],
     ("mx.google.com",), False),
    (["atlas.mail.yahoo.com; dkim=pass header.i=@acme.example; spf=pass smtp.mailfrom=acme.example; "
      "dmarc=pass(p=REJECT) header.from=acme.example;"], (), False),
    (["mx.zohomail.com;\tdkim=pass;\tspf=pass (zohomail.com: domain of acme.example designates 192.0.2.1 as "
      "permitted sender)  smtp.mailfrom=boss@acme.example;\tdmarc=pass(p=none dis=none)  header.from=acme.example"],
     (), False),
    # Microsoft 365: no authserv-id
    (["spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=acme.example; dkim=pass (signature was verified) "
      "header.d=acme.example;dmarc=pass action=none header.from=acme.example;compauth=pass reason=100"], (), False),
    (["spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=acme.example; dkim=none (message not signed) "
      "header.d=none;dmarc=fail action=quarantine header.from=acme.example;compauth=fail reason=000"], (), True),
    # nothing said, or nothing that fails
    ([], (), False),
    ([""], (), False),
    (["mx.acme.example; none"], (), False),
    (["mx.acme.example; spf=none smtp.helo=x; dkim=none; dmarc=none header.from=acme.example"], (), False),
    (["mx.acme.example; dmarc=temperror header.from=acme.example"], (), False),
    (["garbage ;;; =="], (), False),
    # which headers are trusted: with ids, those naming them; without, the topmost only
    (["relay.acme.example; dmarc=pass header.from=acme.example", "mx.acme.example; dmarc=fail"],
     ("mx.acme.example",), True),
    (["mx.acme.example; dmarc=pass header.from=acme.example", "evil.example; dmarc=fail"], (), False),
    (["MX.Acme.Example; dmarc=fail"], ("mx.acme.example",), True),
    (["evil.example; dmarc=fail", "mx.acme.example; dmarc=pass header.from=acme.example"],
     ("mx.acme.example", "mx2.acme.example"), False),
    # our server's own several headers (one milter each), all read
    (["mx.acme.example; dmarc=fail header.from=acme.example", "mx.acme.example; dkim=pass header.d=acme.example",
      "mx.acme.example; spf=pass smtp.mailfrom=acme.example"], ("mx.acme.example",), True),
])
def test_authentication_results(headers: list[str], ids: tuple[str, ...], failed: bool) -> None:
    from_domain = "acme.co.uk" if any("co.uk" in h for h in headers) else "acme.example"
    assert authentication_failed(headers, from_domain, ids) is failed


def test_a_vendors_odd_result_does_not_hide_the_rest() -> None:
    authserv_id, results = read_header("mx.acme.example; x-vendor=weird-thing{}; dmarc=fail header.from=acme.example")
    assert authserv_id == "mx.acme.example"
    assert [(r.method, r.result) for r in results][-1] == ("dmarc", "fail")
    assert trusted_results(["a; dkim=pass", "b; dkim=fail"]) == trusted_results(["a; dkim=pass"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.text(max_size=300), max_size=4), st.text(max_size=40))
def test_never_raises(values: list[str], domain: str) -> None:
    assert isinstance(authentication_failed(values, domain, ("mx",)), bool)
    assert isinstance(author(tuple(values)).address, str)
