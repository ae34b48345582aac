"""The service edge: FastAPI REST, the WebSocket picture and the operator console's static files.

``create_app(settings, source)`` (``app``) serves whatever implements ``PictureSource``
(``source``); the runtime provides the live one. Access control, sessions, sensor tokens, rate
limits and the audit trail: ``auth``, ``users``, ``sessions``, ``ratelimit``, ``audit``
(docs/SECURITY.md). Site edits: ``admin_api`` + ``zones``; journal replay: ``replay``.
"""
