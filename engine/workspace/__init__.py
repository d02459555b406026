"""The cadre's workspace: approval operations, attachments, inbox queries."""
