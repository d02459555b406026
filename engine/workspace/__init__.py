"""The cadre's workspace: approval operations, attachments, inbox queries."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "access",
    "accounts",
    "admin",
    "attachments",
    "drafts",
    "idempotency",
    "inbox",
    "logins",
    "matter_detail",
    "migration",
    "operations",
    "people",
    "tokens",
    "waivers",
    "labels",
]
