"""Which database errors are an outage (retry the batch later), not a bad message (quarantine it)."""

from __future__ import annotations


def test_a_database_starting_up_is_an_outage_not_a_bad_message() -> None:
    from sqlalchemy.exc import DBAPIError

    from service.store.outage import is_infrastructure_error

    class StartingUp(Exception):
        sqlstate = "57P03"

    class Constraint(Exception):
        sqlstate = "23505"

    assert is_infrastructure_error(DBAPIError("connect", {}, StartingUp("the database system is starting up")))
    assert not is_infrastructure_error(DBAPIError("insert", {}, Constraint("duplicate key")))
    assert is_infrastructure_error(DBAPIError("connect", {}, ConnectionRefusedError("refused")))
