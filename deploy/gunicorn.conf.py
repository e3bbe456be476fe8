"""gunicorn settings for production; every knob comes from the environment.

HOST, PORT, WORKERS (default: CPU count) and LOG_LEVEL are validated by
service.settings.Settings, the same code the app uses, so a bad value stops the start
with a message naming the variable.
"""

import os
import sys
import tempfile

# First, before anything imports prometheus_client (it picks its storage at import time):
# the directory where every worker writes its metric samples for GET /metrics to sum.
# Emptied, because files left by an earlier run in the same directory would be summed in.
# Under a read-only root filesystem this lives on the emptyDir mounted at /tmp.
_metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "cds-metrics"))
os.makedirs(_metrics_dir, exist_ok=True)
for _name in os.listdir(_metrics_dir):
    os.remove(os.path.join(_metrics_dir, _name))

from service.settings import Settings, SettingsError  # noqa: E402 (needs the line above)

try:
    _settings = Settings.from_env()
except SettingsError as error:
    sys.stderr.write(f"configuration error: {error}\n")
    sys.exit(2)

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "sync"  # the rule engine is CPU-bound and serialised per process
loglevel = _settings.log_level.lower()
accesslog = None  # the app writes one JSON line per request (service.web.observability)
errorlog = "-"

timeout = 30  # a worker silent this long is killed and replaced
graceful_timeout = 20  # on SIGTERM: finish in-flight requests, then exit
keepalive = 5
max_requests = _settings.max_requests  # leak guard: recycle workers ...
max_requests_jitter = max_requests // 10  # ... but not all at once
limit_request_line = 4096
limit_request_fields = 100
worker_tmp_dir = tempfile.gettempdir()  # heartbeat files; /tmp is writable in the container

preload_app = True  # load and check the knowledge base once, in the master, before forking


def child_exit(server, worker):
    from prometheus_client import multiprocess  # noqa: PLC0415 (see the top of this file)

    multiprocess.mark_process_dead(worker.pid)
