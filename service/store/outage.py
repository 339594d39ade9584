"""Which failures mean the database (or the network to it) is away, not that a message is bad."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Errors that mean "the database is not there", not "this message is bad": the
# caller backs off and retries the message instead of quarantining it.
INFRA_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, OSError, ConnectionError, TimeoutError,
)


# SQLSTATE classes that mean "the server is not there (yet)": connection exceptions, a server
# shutting down or starting up ("the database system is starting up"), too many connections
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when the failure is the database or network, so the message must be retried."""
    if isinstance(exc, INFRA_ERRORS):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    cause: BaseException | None = exc.orig
    for _ in range(4):  # the driver's own exception sits a few causes down
        if cause is None:
            break
        if isinstance(cause, (OSError, ConnectionError, TimeoutError)):
            return True
        state = str(getattr(cause, "sqlstate", "") or getattr(cause, "pgcode", "") or "")
        if state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        cause = cause.__cause__
    return False
