"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py service.wsgi:app``."""

from service.app import create_app
from service.logs import configure_logging
from service.settings import Settings

configure_logging(Settings.from_env().log_level)
app = create_app()
