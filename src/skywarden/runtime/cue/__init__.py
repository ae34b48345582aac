"""Slew-to-cue: sensor tasking (pointing cameras only) and its visual-evidence page."""
