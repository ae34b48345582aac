"""A thin command-line front: argument parsing and calls into ``runtime``; no logic of its own."""
