"""The service package: curated public names, one router per resource."""

from __future__ import annotations

import service
from service._routes import ROUTERS


def test_all_is_exact_and_sorted():
    public = {
        name
        for name, value in vars(service).items()
        if not name.startswith("_") and not isinstance(value, type(service))
    }
    assert set(service.__all__) == public
    upper = [n for n in service.__all__ if n.isupper()]
    rest = [n for n in service.__all__ if not n.isupper()]
    assert service.__all__ == sorted(upper) + sorted(rest)


def test_one_router_per_resource():
    prefixes = [r.prefix for r in ROUTERS]
    assert prefixes == ["", "/api/sessions", "/api/sessions", "/api/athletes", "/api"]
    assert {r.tags[0] for r in ROUTERS} == {"health", "sessions", "live", "athletes", "metrics"}
