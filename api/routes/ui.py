"""``/ui``: the dashboard. One page whose script reads the same open GET routes any client
reads, and submits with a key the user enters (kept in the tab's session storage)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "ui" / "static"

#: Everything from this origin and nothing else: a deployment may have no internet, and a
#: page that can load no foreign script cannot be made to run one.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

#: On every /ui response (the page and its files), not on the API's own.
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


class _UiFiles(StaticFiles):
    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(HEADERS)
        return response


@router.get("/ui")
async def ui_root() -> RedirectResponse:
    # The page's relative URLs (static/app.js) resolve against /ui/.
    return RedirectResponse("/ui/")


@router.api_route("/ui/", methods=["GET", "HEAD"])
async def ui_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    """FastAPI's Swagger UI, with its script and style served from here instead of a CDN:
    a deployment may have no internet, and a foreign script on this origin could read the
    dashboard's key from the tab's session storage."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="dcoprover API",
        swagger_js_url="/ui/static/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/ui/static/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


def mount_ui(app: FastAPI) -> None:
    """The page, its static files and the API docs (create the app with ``docs_url=None``:
    this module serves ``/docs`` itself)."""
    app.include_router(router)
    app.mount("/ui/static", _UiFiles(directory=STATIC), name="ui-static")
