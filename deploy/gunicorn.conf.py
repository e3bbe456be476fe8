"""gunicorn settings for production; every knob comes from the environment.

HOST, PORT, WORKERS (default: CPU count) and LOG_LEVEL are validated by
service.settings.Settings, the same code the app uses, so a bad value stops the start
with a message naming the variable.
"""

# The workers are gevent's (service/worker.py). Patch before anything else is imported, as
# preload_app imports the app here in the master: locks and sockets made now must already be
# the cooperative ones the forked workers use.
from gevent import monkey

monkey.patch_all()

import atexit  # noqa: E402 (after the patch, on purpose)
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

# First, before anything imports prometheus_client (it picks its storage at import time):
# the directory where every worker writes its metric samples for GET /metrics to sum. A new
# one for every start of this master, so two instances on one host never sum or wipe each
# other's samples, and nothing left by an earlier run is counted; the master removes it when
# it exits (workers exit too, hence the pid check). Under a read-only root filesystem the
# temporary directory is the emptyDir mounted at /tmp.
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cds-metrics-")
_master = os.getpid()
atexit.register(lambda: os.getpid() == _master and shutil.rmtree(_metrics_dir, ignore_errors=True))

from service.settings import Settings, SettingsError  # noqa: E402 (needs the line above)

try:
    _settings = Settings.from_env()
except SettingsError as error:
    sys.stderr.write(f"configuration error: {error}\n")
    sys.exit(2)

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
# One greenlet per connection: a slow client holds a socket, never the worker; requests
# whose head is not complete in 10 s get 408 (service/worker.py, README "Serving").
worker_class = "service.worker.Worker"
worker_connections = 1000  # open connections per worker, slow ones included
loglevel = _settings.log_level.lower()
accesslog = None  # the app writes one JSON line per request (service.web.observability)
errorlog = "-"

timeout = 30  # a worker silent this long is killed and replaced
graceful_timeout = 20  # on SIGTERM: finish in-flight requests, then exit
keepalive = 5  # > 0: the worker then applies its head deadline (each connection still serves one request)
max_requests = _settings.max_requests  # leak guard: recycle workers ...
max_requests_jitter = max_requests // 10  # ... but not all at once
limit_request_line = 4096
limit_request_fields = 100
worker_tmp_dir = tempfile.gettempdir()  # heartbeat files; /tmp is writable in the container

preload_app = True  # load and check the knowledge base once, in the master, before forking


def child_exit(server, worker):
    """Drop a dead worker's live gauges; its counters stay, they are part of the pod's totals."""
    from prometheus_client import multiprocess  # noqa: PLC0415 (see the top of this file)

    multiprocess.mark_process_dead(worker.pid, _metrics_dir)


def post_worker_init(worker):
    """Build and prime this worker's rule engine before it serves: otherwise the first request
    of every new or recycled worker paid for it (about 10 ms, measured). Only the service's app
    has one (the benchmark floors and test wrappers are served with this file too). /readyz
    still reports whether the self-test passes."""
    from flask import Flask  # noqa: PLC0415 (see the top of this file)

    from service.web.components import components  # noqa: PLC0415

    if isinstance(worker.wsgi, Flask) and worker.wsgi.import_name == "service.app":
        components(worker.wsgi).assessor.self_test()
