"""The `faceorg` command line: every user action as a subcommand."""
