"""Prometheus metrics and the health endpoint, served on `FOLLOWUP_METRICS_PORT` (off when unset).

One registry per process. /healthz answers 200 only while the inbox, sender
and scheduler loops have each reported in within `stale_s` (a loop in backoff
reports "down"), so an orchestrator restarts a worker that is stuck.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

log = logging.getLogger("followup.metrics")
LOOPS = ("inbox", "sender", "scheduler")


class Metrics:
    """The counters operators watch; every name starts with followup_."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingested = Counter("followup_messages_ingested", "Inbound messages processed, by decision",
                                ["decision"], registry=r)
        self.concerns = Counter("followup_concerns_filed", "Concerns filed, by label", ["label"], registry=r)
        self.sent = Counter("followup_replies_sent", "Messages accepted by the SMTP server, by purpose",
                            ["purpose"], registry=r)
        self.suppressed = Counter("followup_replies_suppressed", "Replies not sent, by reason", ["reason"],
                                  registry=r)
        self.retries = Counter("followup_send_retries", "Sends that failed and will be retried", registry=r)
        self.send_failed = Counter("followup_send_failed", "Sends given up (permanent or too many attempts)",
                                   registry=r)
        self.quarantined = Counter("followup_quarantined", "Messages quarantined", registry=r)
        self.escalations = Counter("followup_escalations", "Escalations made, by level", ["level"], registry=r)
        self.ack_latency = Histogram(
            "followup_ack_latency_seconds", "From a message's arrival to its acknowledgement being accepted",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600), registry=r)
        self.idle = Gauge("followup_inbox_idle", "1 while the inbox waits in IMAP IDLE", registry=r)
        self.loop_up = Gauge("followup_loop_up", "1 while the loop is running (not in backoff)", ["loop"],
                             registry=r)
        self.incident_open = Gauge("followup_incident_open", "1 while an incident of this kind is open (since "
                                   "the trouble was first seen)", ["kind"], registry=r)
        self.incidents = Counter("followup_incidents", "Incidents the operator was told of, by kind", ["kind"],
                                 registry=r)
        self._beats: dict[str, tuple[bool, float]] = {}
        self._incidents: dict[str, str] = {}
        self._lock = threading.Lock()

    def set_incidents(self, open_since: dict[str, str], kinds: Iterable[str]) -> None:
        """The incidents open now (kind -> since), as the last review left them; `kinds`: every kind."""
        with self._lock:
            self._incidents = dict(open_since)
        for kind in kinds:
            self.incident_open.labels(kind).set(1 if kind in open_since else 0)

    def open_incidents(self) -> dict[str, str]:
        with self._lock:
            return dict(self._incidents)

    def beat(self, loop: str, up: bool = True) -> None:
        """A loop reports in: alive and working (up) or backing off (down)."""
        with self._lock:
            self._beats[loop] = (up, time.monotonic())
        self.loop_up.labels(loop).set(1 if up else 0)

    def health(self, stale_s: float) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        with self._lock:
            beats = dict(self._beats)
        states = {}
        for loop in LOOPS:
            up, at = beats.get(loop, (False, 0.0))
            states[loop] = "up" if up and now - at <= stale_s else ("stale" if up else "down")
        return all(v == "up" for v in states.values()), states


METRICS = Metrics()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics http: " + format, *args)


def app(metrics: Metrics, stale_s: float) -> Callable[..., Iterable[bytes]]:
    prometheus = make_wsgi_app(metrics.registry)

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok, states = metrics.health(stale_s)
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json")])
            # incidents do not make the worker unready (a restart cures none of them); they are shown
            return [json.dumps({"ready": ok, "loops": states, "incidents": metrics.open_incidents()}).encode()]
        if environ.get("PATH_INFO") == "/metrics":
            result: Iterable[bytes] = prometheus(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"try /metrics or /healthz\n"]

    return route


def serve(host: str, port: int, metrics: Metrics, stale_s: float) -> WSGIServer:
    """Serve /metrics and /healthz from a daemon thread; return the server (its port may be 0 -> any)."""
    server = make_server(host, port, app(metrics, stale_s), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="followup-metrics", daemon=True)
    thread.start()
    log.info("metrics on http://%s:%d/metrics and /healthz", host, server.server_port)
    return server
