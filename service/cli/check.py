"""`followup check`: try every connection in the settings and say plainly what is wrong."""

from __future__ import annotations

import asyncio

from service.errors import FollowupError
from service.settings import Settings
from service.store.db import current_revision, make_engine


async def _database(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        revision = await asyncio.wait_for(current_revision(engine), 15)
    finally:
        await engine.dispose()
    return f"reachable, schema revision {revision or 'none (run followup migrate)'}"


async def _inbox(settings: Settings) -> str:
    from service.runtime.worker import make_inbox

    inbox = make_inbox(settings)
    try:
        await asyncio.wait_for(inbox.open(None), 30)
        push = "IDLE" if inbox.supports_push else "polling"
        return f"{inbox.name} readable ({push})"
    finally:
        await inbox.close()


async def _outbox(settings: Settings) -> str:
    from service.adapters.transport import SmtpTransport
    from service.runtime.worker import make_transport

    transport = make_transport(settings)
    try:
        if isinstance(transport, SmtpTransport):
            smtp = await asyncio.wait_for(transport._connection(), 30)
            await smtp.noop()
            tls = smtp.transport is not None and smtp.transport.get_extra_info("ssl_object") is not None
            return f"{transport.name} accepts connections ({'TLS' if tls else 'no TLS, loopback'})"
        return f"{transport.name} (messages are written there, not sent)"
    finally:
        await transport.close()


async def run_checks(settings: Settings) -> int:
    """Print one line per connection; return 0 when all work, 1 otherwise."""
    failures = 0
    for name, probe in (("database", _database), ("inbox", _inbox), ("outbox", _outbox)):
        try:
            detail = await probe(settings)
            print(f"ok    {name}: {detail}")
        except (FollowupError, OSError, TimeoutError, Exception) as exc:  # noqa: BLE001 - reported, not raised
            failures += 1
            # str(exc) of our adapters never carries secrets: URLs are redacted there
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}")
    return 1 if failures else 0
