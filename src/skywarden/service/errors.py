"""Error answers that never fail themselves: 422 without the input, HTTP errors made printable.

FastAPI's default 422 handler echoes each error's ``input`` (and ``ctx``) back to the client.
An input the JSON encoder cannot write (``NaN``, a lone surrogate, bytes that are not UTF-8)
then turned a client's mistake into a 500, and echoing is a reflection vector anyway. Here a
validation error answers ``{"detail": [{"loc", "msg", "type"}]}`` (the shape the OpenAPI
document promises) with every string made encodable and bounded; the input is never sent
back. ``HTTPException`` details are passed through the same cleaning (a detail may quote a
path parameter).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from skywarden.core.counters import Counters

MAX_TEXT = 200
MAX_ERRORS = 20


def printable(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as text that always encodes to UTF-8, at most ``limit`` characters."""
    s = value if isinstance(value, str) else str(value)
    s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _loc_item(x: object) -> str | int:
    return x if isinstance(x, int) and not isinstance(x, bool) else printable(x, 64)


def clean_errors(errors: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for e in list(errors)[:MAX_ERRORS]:
        if not isinstance(e, dict):
            out.append({"loc": [], "msg": printable(e), "type": "value_error"})
            continue
        out.append(
            {
                "loc": [_loc_item(x) for x in e.get("loc", ())],
                "msg": printable(e.get("msg", "invalid")),
                "type": printable(e.get("type", "value_error"), 64),
            }
        )
    return out


def _clean_detail(detail: Any) -> Any:
    if isinstance(detail, str):
        return printable(detail, 500)
    if isinstance(detail, list):
        return clean_errors(detail)
    return printable(detail, 500)


def install(app: FastAPI, counters: Counters) -> None:
    """Register the handlers on ``app``; refusals are counted as ``http.<status>``."""

    async def validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        counters.inc("http.422")
        return JSONResponse({"detail": clean_errors(exc.errors())}, status_code=422)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        counters.inc(f"http.{exc.status_code}")
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        return JSONResponse(
            {"detail": _clean_detail(exc.detail)},
            status_code=exc.status_code,
            headers=dict(exc.headers) if exc.headers else None,
        )

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
