"""pytest fixtures: a real cluster per test module, checked for sanitizer
reports and clean shutdown when the module is done."""

import pytest

from cluster import Cluster


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    """A module may set CLUSTER_OPTIONS (Cluster keyword arguments)."""
    options = getattr(request.module, "CLUSTER_OPTIONS", {})
    c = Cluster(tmp_path_factory.mktemp("cluster"), **options)
    try:
        c.start()
        yield c
    finally:
        problems = c.stop()
        assert not problems, "\n".join(problems)


@pytest.fixture
def fresh_cluster(tmp_path):
    """A private cluster for tests that kill or restart daemons."""
    clusters = []

    def make(**kwargs):
        c = Cluster(tmp_path, **kwargs)
        clusters.append(c)
        return c

    yield make
    problems = []
    for c in clusters:
        problems += c.stop()
    assert not problems, "\n".join(problems)
