"""Database access: models, engine set-up and migrations."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "backup",
    "db",
    "enums",
    "ids",
    "migrate",
    "models",
]
