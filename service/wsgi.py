"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py service.wsgi:app``.

gunicorn imports this once, in the master, before forking its workers (``preload_app``), so
what it logs here is logged once per start, not once per worker.
"""

import logging

from service.app import create_app
from service.logs import configure_logging
from service.settings import Settings

_settings = Settings.from_env()
configure_logging(_settings.log_level)
if gap := _settings.replay_gap():
    # Not refused by default: one machine's `make run` needs no Redis. REQUIRE_REPLAY_STORE=true
    # (the shipped manifests set it) turns this into a refusal to start.
    logging.getLogger(__name__).warning(
        "%s; set REPLAY_STORE to a Redis every worker and pod shares (README, Settings)", gap
    )
app = create_app()
