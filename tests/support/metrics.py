"""Reading /metrics as Prometheus does: with prometheus_client's own text parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition: (sample name, its labels) -> value."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a labelled counter appears on its first use)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **headers: str) -> dict[tuple[str, frozenset], float]:
    """GET /metrics with a Flask test client or a requests-like session; its samples."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return samples(response.text)


def recorded() -> dict[tuple[str, frozenset], float]:
    """The samples the processes recorded themselves (their multi-process files), without
    what a scrape adds from the database."""
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    from alerting import metrics

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=metrics.DIRECTORY)
    return samples(generate_latest(registry).decode())
