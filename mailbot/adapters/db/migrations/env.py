"""Alembic environment: run by mailbot itself on an open connection (see migrate.py)."""

from alembic import context

from mailbot.adapters.db.orm import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
