"""Alerts: the raised -> acknowledged -> resolved lifecycle and the sinks that deliver them.

Sinks warn people (WebSocket, webhook, e-mail, CoT/TAK, SAPIENT Alert). No sink, and no
code path anywhere in skywarden, tasks a weapon, jammer or other effector.
"""
