"""HTTP view of the central picture (``skywarden central --http-port``), read-only.

``GET /api/cluster/sites`` lists every site with its region, worker, frame and alert
counts; ``GET /api/cluster/picture?site=&region=`` returns tracks and open alerts of the
selected sites. The picture itself lives in ``runtime.cluster.central`` (above this layer);
this module only needs something with a ``view(site, region)`` method, hence the Protocol.
No authentication here: bind it to loopback or put it behind the console's reverse proxy.
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel


class ClusterView(Protocol):
    def view(self, site: str | None = None, region: str | None = None) -> dict[str, Any]: ...


class SiteSummary(BaseModel):
    site: str
    region: str
    worker: str | None
    frames: int
    reports: int
    tracks: int
    open_alerts: int
    t: float | None


def cluster_router(picture: ClusterView) -> APIRouter:
    r = APIRouter(prefix="/api/cluster", tags=["cluster"])

    @r.get("/sites", response_model=list[SiteSummary])
    def sites(region: str | None = None) -> list[SiteSummary]:
        return [
            SiteSummary(
                site=v["site"],
                region=v["region"],
                worker=v["worker"],
                frames=v["frames"],
                reports=v["reports"],
                tracks=len(v["tracks"]),
                open_alerts=len(v["alerts"]),
                t=v["t"],
            )
            for v in picture.view(region=region)["sites"]
        ]

    @r.get("/picture")
    def view(site: str | None = None, region: str | None = None) -> dict[str, Any]:
        return picture.view(site=site, region=region)

    return r


def cluster_app(picture: ClusterView) -> FastAPI:
    app = FastAPI(title="skywarden central", docs_url=None, redoc_url=None)
    app.include_router(cluster_router(picture))
    return app
