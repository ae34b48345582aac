"""Issue 18 (service): no page or route loads anything from outside the machine.

1. Every HTML page the app serves (``/``, every ``.html`` of the console, ``/docs``) is
   scanned for references (``src``, ``href``, CSS ``url()``, ES ``import``) to another origin,
   and every local reference is fetched and must exist (so the page works offline). The
   console's own scripts and styles are scanned the same way.
2. In real headless Chromium, ``/`` and ``/docs`` are loaded with every request recorded:
   all go to the service's own origin, and ``/docs`` renders the API's operations (so the
   local Swagger UI actually works, not only its HTML).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from service_helpers import PictureMaker, fast_users, make_site, standard_tracks
from skywarden.service.app import create_app, static_dir
from skywarden.service.settings import ServiceSettings
from support.scripted import ScriptedSource
from support.served import ServedApp

REF = re.compile(
    r"""(?:\b(?:src|href|action)\s*=\s*["']([^"']+)["'])"""
    r"""|(?:url\(\s*["']?([^"')]+)["']?\s*\))"""
    r"""|(?:\bimport\s*(?:[\w{}\s,*]+from\s*)?["']([^"']+)["'])"""
    r"""|(?:\bimport\(\s*["']([^"']+)["']\s*\))"""
)
EXTERNAL_LITERAL = re.compile(r"""["'`]((?:https?|wss?):)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}""")


def _app() -> Any:
    source = ScriptedSource(make_site(), now=1_700_000_100.0)
    source.push(PictureMaker(source.site).make(standard_tracks()))
    return create_app(ServiceSettings(), source, users=fast_users())


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(_app(), base_url="http://127.0.0.1:8080") as c:
        yield c


def _refs(text: str) -> list[str]:
    """Literal references; a JavaScript template expression (``src="${c.url}"``, a blob: URL
    made at run time) is no address to fetch: the Chromium test below sees what it loads."""
    refs = (next(g for g in m.groups() if g) for m in REF.finditer(text))
    return [r for r in refs if "${" not in r]


def _is_external(ref: str) -> bool:
    parts = urlsplit(ref)
    return bool(parts.netloc) or parts.scheme not in ("", "data", "blob")


def test_every_served_html_page_loads_only_local_things(client: TestClient) -> None:
    pages = ["/", "/docs"] + [f"/{p.name}" for p in static_dir().glob("*.html")]
    checked: set[str] = set()
    external: list[tuple[str, str]] = []
    queue = list(pages)
    while queue:
        path = queue.pop()
        if path in checked:
            continue
        checked.add(path)
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        ctype = r.headers.get("content-type", "")
        if not any(k in ctype for k in ("html", "javascript", "css")):
            continue
        if "swagger-ui" in path:  # the vendored bundle: checked in the browser below
            continue
        for ref in _refs(r.text):
            if _is_external(ref):
                external.append((path, ref))
            elif not ref.startswith(("#", "data:", "blob:")):
                queue.append(urlsplit(urljoin(path, ref)).path)
        if "javascript" in ctype:
            external += [(path, m.group(0)) for m in EXTERNAL_LITERAL.finditer(r.text)]
    assert external == [], external
    assert "/docs/assets/swagger-ui-bundle.js" in checked
    assert len(checked) >= 5


def test_docs_page_is_local_and_carries_a_self_only_policy(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "cdn" not in r.text.lower() and "http" not in r.text
    assert '"validatorUrl": null' in r.text
    # FastAPI's CDN pages are gone; what answers there is the console, not ReDoc
    assert "redoc" not in client.get("/redoc").text.lower()
    assert client.get("/openapi.json").json()["info"]["title"] == "skywarden"


# --- in a real browser ---------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


class _Server(ServedApp):
    def __init__(self) -> None:
        super().__init__(_app())


def test_in_chromium_every_request_stays_on_the_service_origin() -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium not installed (apt-get install -y chromium)")
    with _Server() as srv, playwright.sync_playwright() as p:
        origin = f"http://127.0.0.1:{srv.port}"
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            urls: list[str] = []
            page.on("request", lambda req: urls.append(req.url))
            page.goto(f"{origin}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            page.goto(f"{origin}/")
            page.wait_for_load_state("networkidle", timeout=20_000)
        finally:
            browser.close()
    assert operations >= 30  # Swagger UI rendered the whole API from the local bundle
    foreign = [u for u in urls if not u.startswith((origin + "/", "data:", "blob:"))]
    assert foreign == [], foreign
    assert f"{origin}/docs/assets/swagger-ui-bundle.js" in urls
