"""The public base URL canonical URLs and card links are written under."""

from __future__ import annotations

from flask import current_app, request


def public_base_url() -> str:
    """``PUBLIC_BASE_URL``; unset, the origin this request reached (hook calls are refused then,
    so only discovery and the FHIR reads are ever answered under it)."""
    return current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")
