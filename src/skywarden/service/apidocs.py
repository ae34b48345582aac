"""``/docs``: Swagger UI served from this machine, never from a CDN.

FastAPI's built-in ``/docs`` and ``/redoc`` pages load their scripts and styles from a public
CDN into the service's own origin: a console with no Internet access gets a blank page, and
one with it runs third-party code next to the operator's session cookie. Here the app is built
without them and ``/docs`` is the same Swagger UI page pointing at the copy of Swagger UI
shipped in the ``fastapi-offline`` package (MIT; Swagger UI 5 itself is Apache-2.0: version 5
is the first that renders the OpenAPI 3.1 document FastAPI writes), mounted at
``/docs/assets``; only its files are used. The validator badge (which calls out to a public
validator) is off, and the page carries a Content-Security-Policy that lets it load and
connect to this origin only. Without the package installed there is no ``/docs`` (the OpenAPI
document is still at ``/openapi.json``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def swagger_assets() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def install(app: FastAPI) -> bool:
    """Add ``/docs`` and its assets to ``app`` (before the console's catch-all mount)."""
    assets = swagger_assets()
    if assets is None or app.openapi_url is None:
        return False
    openapi_url = app.openapi_url
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.mount(ASSETS, StaticFiles(directory=assets), name="docs-assets")
    return True
