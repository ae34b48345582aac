"""Alert and track outputs to other systems: one module per destination format.

``cot`` (Cursor-on-Target to TAK) and ``sapient`` (BSI Flex 335 v2.0 to a higher node).
Builders are pure functions returning bytes; the senders own their sockets.
"""
