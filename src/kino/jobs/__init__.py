"""Durable jobs: the job store (SQLAlchemy + Alembic), claims with leases, and the worker."""
