"""Where an instance is: loading, stepping and saving workflows (tasks, not specs)."""
