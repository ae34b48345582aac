"""Threat assessment: class probabilities, zones, time to zone, identity, a score with reasons."""
