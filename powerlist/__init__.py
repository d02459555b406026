"""powerlist: the command line and the wiring of engine, rules and web into one product."""
