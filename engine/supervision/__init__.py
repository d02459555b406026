"""Supervision: deadlines, timers, violation warnings, rule sets and scores."""
