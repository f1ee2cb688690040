"""Persistence adapter: SQLAlchemy models, repositories, importers, exporters, migrations."""
