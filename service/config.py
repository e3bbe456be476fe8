"""Default settings; ``create_app(config)`` overrides any of them."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "RULES_DIR": str(PROJECT_ROOT / "rules"),
    "MAX_CONTENT_LENGTH": 64 * 1024,  # contract: bodies over 64 KiB are a 413
    "JSON_SORT_KEYS": False,
}
