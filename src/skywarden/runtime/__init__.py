"""The one place that wires stages together.

sources -> tracker -> threat -> alerts -> store -> service.
"""
