"""Exceptions raised at the edges; each docstring is its default message."""

from __future__ import annotations


class FollowupError(Exception):
    """followup failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class SettingsError(FollowupError):
    """A setting is missing or wrong."""


class StoreError(FollowupError):
    """The database cannot be reached or used: one line naming it (password masked) and the setting."""


class MailServerError(FollowupError):
    """The mail server failed; the caller retries with backoff."""


class InboxError(MailServerError):
    """The inbox could not be read."""


class AuthenticationError(MailServerError):
    """The server refused our credentials; retrying will not help without new ones."""


class TLSRequiredError(MailServerError):
    """The server does not offer STARTTLS and the host is not loopback."""


class SendError(FollowupError):
    """A message could not be sent."""

    def __init__(self, message: str | None = None, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class ConcernNotFound(FollowupError):
    """No such concern."""


class PlanError(FollowupError):
    """The action plan change cannot be made (no such item, concern already resolved, ...)."""


class AccountError(FollowupError):
    """No such account, or the account change is invalid."""


class TokenRenewalError(MailServerError):
    """An OAuth2 access token could not be renewed; logins fail until it can."""
