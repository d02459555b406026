"""Where an instance is: loading, stepping and saving workflows (tasks, not specs)."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "loaded",
    "forms",
]
