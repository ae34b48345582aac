"""Offline transports around the engine: ``track``/``bench``, ``replay``, recording a feed."""
