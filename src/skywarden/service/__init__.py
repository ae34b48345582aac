"""The service edge: FastAPI REST, the WebSocket picture and the operator console's static files.

``create_app(settings, source)`` (``app``) serves whatever implements ``PictureSource``
(``source``); the runtime provides the live one.
"""
