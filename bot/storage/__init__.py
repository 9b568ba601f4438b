"""Storage: SQLAlchemy models, the database session and alembic migrations."""
