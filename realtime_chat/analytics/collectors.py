"""Gauges read from the database when /metrics is scraped: what is true of the whole deployment at that moment
(answers being generated, documents by ingestion status, background jobs queued), whichever process answers."""

from collections.abc import Iterator

from django.db.models import Count
from django_q.brokers import get_broker
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rag.models import Document
from realtime_chat.chat.models import ChatSession


class DeploymentCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        generating = GaugeMetricFamily("rc_chat_generations_in_progress", "Sessions whose answer is being generated.")
        generating.add_metric([], ChatSession.objects.filter(generating_since__isnull=False).count())
        yield generating
        documents = GaugeMetricFamily("rc_rag_documents", "Documents by ingestion status.", labels=["status"])
        counts = dict(Document.objects.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
        for status in Document.Status.values:
            documents.add_metric([status], counts.get(status, 0))
        yield documents
        queued = GaugeMetricFamily("rc_jobs_queued", "Background jobs waiting in django-q's queue (its broker's).")
        queued.add_metric([], get_broker().queue_size() or 0)
        yield queued
