"""Database access: models, engine set-up and migrations."""
