"""What villagers see without signing in: progress by receipt code, the village wallet, reports by QR."""

# The public modules: the web app and the command line import only these (see .importlinter).
__all__ = [
    "decisions",
    "disclosure_models",
    "disclosures",
    "items",
    "ledger",
    "ledger_models",
    "photos",
    "qr",
    "receipts",
    "reports",
    "spreadsheets",
    "subsidies",
    "subsidy_models",
    "villages",
    "wallet",
]
