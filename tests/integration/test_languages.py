"""The language of every message, stored with it and remembered on its client; set by hand, kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service.runtime.worker import Worker
from service.store import clients
from service.store.db import transaction
from service.store.models import Client, MessageRow

from mailfactory import client_mail, drop
from support import maildir_settings


async def rows(settings: object) -> tuple[list[MessageRow], list[Client]]:
    worker = Worker(settings)  # type: ignore[arg-type]
    try:
        async with worker.sessions() as session:
            msgs = list((await session.scalars(select(MessageRow).where(MessageRow.direction == "in")
                                               .order_by(MessageRow.id))).all())
            people = list((await session.scalars(select(Client))).all())
            return msgs, people
    finally:
        await worker.engine.dispose()


async def test_the_language_is_stored_with_the_message_and_remembered_on_the_client(
        tmp_path: Path, db_url: str) -> None:
    folders = (tmp_path / "in", tmp_path / "out")
    settings = maildir_settings(folders, db_url)
    drop(folders[0], client_mail(sender="Claire <claire@client.example>", subject="Wrong invoice",
                                 message_id="<c1@client.example>",
                                 body="This is the third time the invoice is wrong and nobody calls me back."))
    await Worker(settings).run_once()
    [msg], [client] = await rows(settings)
    assert msg.verdict["lang"] == "en" and client.lang == "en" and not client.lang_by_hand
    # her reply in the thread is in French: that is the language she is written to in now
    drop(folders[0], client_mail(sender="Claire <claire@client.example>", subject="Re: Wrong invoice",
                                 message_id="<c2@client.example>", in_reply_to="<c1@client.example>",
                                 body="Bonjour, je préfère écrire en français. La facture est toujours fausse "
                                      "et le prélèvement part vendredi."))
    await Worker(settings).run_once()
    msgs, [client] = await rows(settings)
    assert [m.verdict["lang"] for m in msgs] == ["en", "fr"] and client.lang == "fr"

    # set by hand (she asked for German), then kept whatever her next mail is written in
    worker = Worker(settings)
    async with transaction(worker.sessions) as session:
        await clients.set_language(session, "claire@client.example", "de")
    await worker.engine.dispose()
    drop(folders[0], client_mail(sender="Claire <claire@client.example>", subject="Re: Wrong invoice",
                                 message_id="<c3@client.example>", in_reply_to="<c2@client.example>",
                                 body="Merci de votre réponse, j'attends toujours la facture corrigée."))
    await Worker(settings).run_once()
    msgs, [client] = await rows(settings)
    assert [m.verdict["lang"] for m in msgs] == ["en", "fr", "fr"]
    assert client.lang == "de" and client.lang_by_hand
