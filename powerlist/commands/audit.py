"""Commands of this area."""

commands: list = []
