"""Audit: conformance checking, event-log import and export, history anchors."""
