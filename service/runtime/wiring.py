"""The mail adapters a worker (or `followup check`) talks through, built from the settings."""

from __future__ import annotations

from pathlib import Path

from service.adapters.imap import ImapInbox, tls_context
from service.adapters.inbox import Inbox, MaildirInbox
from service.adapters.transport import MaildirTransport, SmtpTransport, Transport
from service.settings import Settings


def make_inbox(settings: Settings) -> Inbox:
    """The inbox `FOLLOWUP_INBOX_URL` names: a Maildir, or an IMAP mailbox with the configured login."""
    url = settings.inbox
    if url.is_maildir:
        return MaildirInbox(Path(url.path), batch=settings.fetch_batch)
    secret = settings.imap_oauth2_token if settings.imap_auth == "xoauth2" else settings.imap_password
    return ImapInbox(
        url,
        secret=secret.get_secret_value() if secret else "",
        auth=settings.imap_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
        processed_keyword=settings.processed_keyword,
        processed_folder=settings.processed_folder,
        batch=settings.fetch_batch,
        poll_s=settings.poll_interval_s,
        idle_renew_s=settings.idle_renew_s,
        heartbeat_s=settings.imap_heartbeat_s,
    )


def make_transport(settings: Settings) -> Transport:
    """The way out `FOLLOWUP_OUTBOX_URL` names: a Maildir, or an SMTP server with the configured login."""
    url = settings.outbox
    if url.is_maildir:
        return MaildirTransport(Path(url.path))
    secret = settings.smtp_oauth2_token if settings.smtp_auth == "xoauth2" else settings.smtp_password
    return SmtpTransport(
        url, secret=secret.get_secret_value() if secret else None, auth=settings.smtp_auth,
        ssl_context=tls_context(_ca(settings), settings.tls_verify),
    )


def _ca(settings: Settings) -> str | None:
    return str(settings.tls_ca_file) if settings.tls_ca_file else None
