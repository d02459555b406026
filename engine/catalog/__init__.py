"""The power list as a whole: the catalogue of items, their example paths and printable flowcharts."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "catalog",
    "examples",
    "flowchart",
]
