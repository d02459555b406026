# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "passwords",
    "roles",
    "service",
]
