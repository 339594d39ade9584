"""The store: SQLAlchemy models, Alembic migrations, and the queries, grouped by table family.

Every function takes the session (and so the transaction) it runs in; SQL lives here and nowhere else.
May import `service.core` (for its value types), `service.errors`, `service.clock`; never adapters, flows,
runtime or settings.
"""
