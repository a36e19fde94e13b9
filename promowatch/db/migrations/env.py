"""Alembic environment: runs against the engine promowatch hands over (no alembic.ini)."""

from alembic import context

from promowatch.db.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
