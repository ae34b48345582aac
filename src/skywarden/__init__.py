"""skywarden: counter-drone early warning.

Sensors in, one fused air picture out: every object tracked and classified, a warning
before a hostile drone reaches the protected zone, and a replayable record. skywarden
senses, decides what to show and warns people; it never tasks an effector.

Data flows one way: ``sensors -> tracking -> threat -> alerts -> store -> service``;
``runtime`` wires the stages, ``core`` holds the value types they share.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
