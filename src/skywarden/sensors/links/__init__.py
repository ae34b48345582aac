"""Sockets for the wire formats in ``sensors``: bytes and receive times in, no parsing here.

Each link owns its I/O and hands bytes to the pure parser of its format; the receive time
comes from an injected clock, so the parsers stay deterministic.
"""
