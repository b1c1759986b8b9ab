"""Alembic environment of the workflow database (a package so that it ships in the wheel)."""
