"""``GET /metrics`` in the Prometheus text format, for administrators' API tokens only.

Decision 33 (docs/decisions.md): the metrics live on the application's own port behind an
admin API token (``Authorization: Bearer …``), not on a second port: one listener to secure,
and the route names and counts say something about how stek is used. A browser session, even an
administrator's, gets 403; no token 401.

Per process (each server process counts its own requests): ``stek_http_requests_total``
(method, route template, status) and ``stek_http_request_duration_seconds``. From the database
at each scrape, so the same for every process and including separate workers:
``stek_solve_duration_seconds`` (from a round's move into *solving* to its move out, read from
the audit log's round transitions), ``stek_solve_queue_length`` (rounds now *solving*),
``stek_jobs`` (jobs per kind and status: queued, running, done, failed) and
``stek_jobs_waiting`` (jobs a worker could claim now: queued, or their worker's lease ran out).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Scope

from api.auth import CurrentPrincipal
from store import jobs
from store import models as m

router = APIRouter(tags=["metrics"])
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SOLVE_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class SolveCollector(Collector):
    """Solve durations and the solve queue, read from the database at each scrape."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterable[Metric]:
        with self.factory() as session:
            queue = session.scalar(
                select(func.count())
                .select_from(m.AllocationRound)
                .where(m.AllocationRound.status == "solving")
            )
            durations = list(solve_durations(session))
            by_status = session.execute(
                select(m.Job.kind, m.Job.status, func.count()).group_by(m.Job.kind, m.Job.status)
            ).all()
            waiting = jobs.queue_length(session)
        counts = GaugeMetricFamily(
            "stek_jobs", "Jobs per kind and status", labels=["kind", "status"]
        )
        for kind, status_, n in by_status:
            counts.add_metric([kind, status_], float(n))
        yield counts
        gauge = GaugeMetricFamily(
            "stek_jobs_waiting", "Jobs a worker could claim now (queued, or their lease ran out)"
        )
        gauge.add_metric([], float(waiting))
        yield gauge
        gauge = GaugeMetricFamily(
            "stek_solve_queue_length", "Rounds waiting for or in a solve (status solving)"
        )
        gauge.add_metric([], float(queue or 0))
        yield gauge
        buckets = [(str(b), float(sum(1 for d in durations if d <= b))) for b in SOLVE_BUCKETS]
        buckets.append(("+Inf", float(len(durations))))
        histogram = HistogramMetricFamily(
            "stek_solve_duration_seconds", "From a round's move into solving to its move out"
        )
        histogram.add_metric([], buckets, sum_value=sum(durations))
        yield histogram


def _aware_seconds(later: datetime, earlier: datetime) -> float:
    if (later.tzinfo is None) != (earlier.tzinfo is None):
        later, earlier = later.replace(tzinfo=None), earlier.replace(tzinfo=None)
    return max(0.0, (later - earlier).total_seconds())


def solve_durations(session: Session) -> Iterator[float]:
    """Seconds of every finished solve: each transition into ``solving`` paired with the next
    transition of that round out of it (solved or crashed)."""
    started: dict[str, datetime] = {}
    rows = session.execute(
        select(m.AuditEntry.entity_id, m.AuditEntry.at, m.AuditEntry.detail)
        .where(m.AuditEntry.entity == "round", m.AuditEntry.action.like("round.%"))
        .order_by(m.AuditEntry.id)
    )
    for round_id, at, detail in rows:
        if not isinstance(detail, dict) or round_id is None:
            continue
        if detail.get("to") == "solving":
            started[round_id] = at
        elif detail.get("from") == "solving" and round_id in started:
            yield _aware_seconds(at, started.pop(round_id))


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stek_http_requests_total",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stek_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(SolveCollector(factory))

    def observe(self, scope: Scope, status_code: int, seconds: float) -> None:
        route = route_template(scope)
        method = str(scope.get("method", ""))
        self.requests.labels(method, route, str(status_code)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The route's path template (``/api/v1/rounds/{round_id}``), never the raw path: ids and
    codes in paths would make a series per young person. A route of an included router knows
    its path without the router's prefix; the prefix has no parameters, so it is the same
    number of leading segments of the request's path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return "static" if str(scope.get("path", "")).startswith("/static/") else "onbekend"
    path = str(scope.get("path", ""))
    extra = path.rstrip("/").count("/") - template.rstrip("/").count("/")
    if extra > 0 and ":path}" not in template:
        prefix = "/".join(path.split("/")[: extra + 1])
        if not template.startswith(prefix + "/") and template != prefix:
            template = prefix + template
    return template


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, principal: CurrentPrincipal) -> Response:
    """Prometheus text format; only with an administrator's API token."""
    if principal.role != "admin" or principal.token_kind != "api":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="Alleen met een API-token van beheer (admin)"
        )
    body = request.app.state.metrics.exposition()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
