"""Leaf layer: value types, geodesy, the clock, counters and the error tree.

Everything here depends only on the standard library, numpy and pymap3d, so every other
layer may import it and it imports none of them.
"""
