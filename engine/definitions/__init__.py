"""What a flow is: parsing, validating and describing uploaded BPMN (specs, not instances)."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "deploy",
    "guide",
    "listing",
    "models",
    "safe_xml",
    "scope",
    "validate",
]
