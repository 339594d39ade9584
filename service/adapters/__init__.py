"""Adapters to the mail world: IMAP and Maildir inboxes, SMTP and Maildir transports, mail URLs.

Each returns plain values (`RawMessage`, `ReadPosition`) and decides, in one place, which failures are
transient. May import `service.core` and `service.errors`; never the store, flows or runtime.
"""
