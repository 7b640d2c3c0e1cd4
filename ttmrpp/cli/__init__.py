"""The `ttmrpp` command line: one module per sub-command, argument parsing only."""
