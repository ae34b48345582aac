"""The service's one typed settings object (pydantic, validated on construction).

Secure default: bind to loopback until an operator configures otherwise.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = Field(default="127.0.0.1", description="bind address (loopback by default)")
    port: int = Field(default=8080, ge=0, le=65535)
    ws_queue_size: int = Field(
        default=8, ge=1, description="pictures queued per WebSocket client before it is resynced"
    )
    ws_send_timeout_s: float = Field(
        default=5.0, gt=0, description="a client whose send blocks this long is disconnected"
    )
    stale_after_s: float = Field(
        default=5.0, gt=0, description="console shows the feed-lost banner after this many s"
    )
    operator: str = Field(default="operator", description="name recorded on acknowledgements")
