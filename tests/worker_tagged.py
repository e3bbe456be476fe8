"""The service, each answer tagged with the pid of the worker that gave it (tests only).

Lets a multi-worker test see which gunicorn worker answered, to prove that state meant to be
shared (the replay store) really is shared. Only gunicorn imports it: importing the service
configures logging for the whole process, so the header's name lives in tests/servers.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from service.wsgi import app as service
from tests.servers import WORKER_HEADER


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    def tagged(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, [*headers, (WORKER_HEADER, str(os.getpid()))], exc_info)

    return service(environ, tagged)
