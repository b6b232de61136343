"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py by itself).

The access log names the route (`/t/<token>`), not the address asked for: a ticket's address is its manage link,
and whoever reads the log must not be able to open or cancel someone's booking with it. busapp sets the route in
the WSGI environ as `busapp.route`; the query string and the referrer are left out for the same reason.

Where it listens and how many workers it runs come from the environment (deploy/digitalbus.env.example), so the
systemd unit and the container start the same command: `gunicorn app:app`. Command-line options override these.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
graceful_timeout = 25
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %({busapp.route}e)s" %(s)s %(B)s %(M)sms "%(a)s"'
# With LOG_FORMAT=json the app writes its own line per request (request id, route, status, time), and this one
# would only repeat it.
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    accesslog = None


def on_starting(server):
    """Metrics of earlier runs' workers would be counted again: start with an empty multi-process folder."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    """A worker that ended keeps its counters but no longer reports live gauges (prometheus_client's rule)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
