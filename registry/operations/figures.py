"""The registry's own figures for /metrics, read from the database at each scrape.

Cheap at 10 M registrations: the counts come from the maintained tally (the country's
`total` rows only: a few thousand whatever the registry's size), never from the actor
table; the import figures from import_batch, one row per uploaded file. Queue depth is
counted from the batches themselves (queued, running, and running with a stale heartbeat),
which is true with the job queue or with the in-process runner.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from registry import vocab
from registry.imports.models import ImportBatch
from registry.stats.queries import Query, flows_by_cell, totals_by_cell

RATE_WINDOW = timedelta(minutes=15)  # import speed: batches running, or finished this recently


class RegistryFigures(Collector):
    """Registrations (active, by category, new today), import rows and speed, queue depth."""

    def __init__(self, session: Session, *, now: datetime, today: date, stale_after: timedelta) -> None:
        self.session, self.now, self.today, self.stale_after = session, now, today, stale_after

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield from self.registrations()
        yield from self.imports()

    def registrations(self) -> Iterator[GaugeMetricFamily]:
        by_category = dict.fromkeys(vocab.CATEGORIES, 0)
        for (category, _gender), n in totals_by_cell(self.session, Query(), "").items():
            by_category[category] = by_category.get(category, 0) + n
        yield GaugeMetricFamily("registry_registrations_active", "People active in the registry now (the tally)",
                                value=sum(by_category.values()))
        family = GaugeMetricFamily("registry_registrations_active_by_category",
                                   "People active in the registry now, by category", labels=["category"])
        for category, n in by_category.items():
            family.add_metric([category], n)
        yield family
        today = Query(since=self.today, as_of=self.today)
        arrived = sum(n for (flow, _c, _g), n in flows_by_cell(self.session, today, "").items() if flow == "arrived")
        yield GaugeMetricFamily("registry_registrations_new_today",
                                "Registrations (and reactivations) dated today in Cambodia", value=arrived)

    def imports(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stored, processed = self.session.execute(
            select(func.coalesce(func.sum(ImportBatch.imported), 0), func.coalesce(func.sum(ImportBatch.rows), 0))
        ).one()
        yield CounterMetricFamily("registry_import_rows_stored", "Rows stored as registrations by imports", value=stored)
        yield CounterMetricFamily("registry_import_rows_processed",
                                  "Rows read by imports (stored, duplicates and rejected)", value=processed)
        rows, seconds = self.session.execute(
            select(func.coalesce(func.sum(ImportBatch.rows), 0), func.coalesce(func.sum(ImportBatch.seconds_running), 0.0))
            .where(ImportBatch.seconds_running > 0,
                   or_(ImportBatch.status == "running", ImportBatch.finished_at >= self.now - RATE_WINDOW))
        ).one()
        yield GaugeMetricFamily("registry_import_rows_per_second",
                                "Rows a second of import work, over batches running or finished in the last 15 minutes",
                                value=rows / seconds if seconds else 0.0)
        stale = self.now - self.stale_after
        queued, running, stalled = self.session.execute(select(
            func.count().filter(ImportBatch.status == "queued"),
            func.count().filter(ImportBatch.status == "running", ImportBatch.heartbeat_at > stale),
            func.count().filter(ImportBatch.status == "running", or_(ImportBatch.heartbeat_at <= stale,
                                                                      ImportBatch.heartbeat_at.is_(None))),
        ).where(ImportBatch.status.in_(("queued", "running")))).one()
        family = GaugeMetricFamily("registry_import_queue_depth",
                                   "Import batches waiting or running; stalled: running without a heartbeat",
                                   labels=["state"])
        for state, n in (("queued", queued), ("running", running), ("stalled", stalled)):
            family.add_metric([state], n)
        yield family
