"""Alembic environment: kino passes its own connection in (see kino.jobs.database.migrate)."""

from alembic import context

from kino.jobs.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
