"""Wire formats in: each module parses one format from bytes (or text) into core detections.

Parsers are pure functions over their input with time passed in; sockets and files live
in ``sensors.links``. A malformed message becomes an ``InputRejected`` with a reason that is
counted; it never stops the stream.
"""
