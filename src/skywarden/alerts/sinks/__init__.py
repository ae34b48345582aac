"""Alert and track outputs to other systems: one module per destination format.

``cot`` (Cursor-on-Target to TAK), ``sapient`` (BSI Flex 335 v2.0 to a higher node),
``webhook`` (HTTP POST JSON through a durable outbox) and ``mail`` (e-mail over SMTP).
Builders are pure functions returning bytes; the senders own their sockets.
"""
