"""Database: typed models, engine and migrations."""
