"""``GET /docs``: interactive API documentation (Swagger UI) for integrators.

The Swagger UI assets come from the ``flask-swagger-ui`` package and are served by this
service under ``/docs/assets/``: hospital networks and air-gapped clusters block CDNs, so the
page must work with nothing but this service reachable.
"""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, render_template

from service.web.openapi import TITLE

SWAGGER_UI = str(files("flask_swagger_ui") / "dist")

bp = Blueprint(
    "api_docs",
    __name__,
    static_folder=SWAGGER_UI,
    static_url_path="/docs/assets",
    template_folder="templates",
)


@bp.get("/docs", strict_slashes=False)  # "/docs/" too: typed by hand as often as not
def api_docs() -> str:
    return render_template("api_docs.html", title=TITLE)
