"""The collector's hits read page by page (`GET /hits?after=<id>`), with the evictions counted.

A long soak (tools/soak.py) reads hits as they arrive, so the collector's memory stays bounded
while every hit is still counted; the eviction count tells it when a hit went unread.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.hits import CALL_HIT
from tools.collector import create_app


def post_hits(client: FlaskClient, values: list[str]) -> None:
    for value in values:
        client.post("/collect", data=CALL_HIT.replace("ev=187", f"ev={value}"))


def page(client: FlaskClient, after: int) -> tuple[list[str], list[int], int]:
    """(event values, ids, evicted so far) of the hits after `after`."""
    response = client.get(f"/hits?after={after}")
    assert response.status_code == 200
    records: list[dict[str, Any]] = response.get_json()
    values = [r["params"]["ev"] for r in records]
    return values, [r["id"] for r in records], int(response.headers["X-Hits-Evicted"])


def test_after_answers_only_the_hits_recorded_since_that_id() -> None:
    client = create_app(strict=False).test_client()
    post_hits(client, ["1", "2"])
    first, ids, _ = page(client, 0)
    post_hits(client, ["3"])
    assert (first, page(client, ids[-1])[0], page(client, 0)[0]) == (
        ["1", "2"],
        ["3"],
        ["1", "2", "3"],
    )


def test_paging_with_after_reads_every_hit_once_beyond_the_bound() -> None:
    # Four times the bound, read as they arrive: nothing evicted before it was read.
    client = create_app(strict=False, max_hits=3).test_client()
    read: list[str] = []
    last = 0
    for batch in (["1", "2"], ["3", "4", "5"], ["6"], ["7", "8", "9"], ["10", "11", "12"]):
        post_hits(client, batch)
        values, ids, _ = page(client, last)
        read += values
        last = ids[-1]
    assert read == [str(n) for n in range(1, 13)]


def test_evicted_counts_the_hits_dropped_by_the_bound() -> None:
    client = create_app(strict=False, max_hits=2).test_client()
    post_hits(client, ["1", "2"])
    before = page(client, 0)[2]
    post_hits(client, ["3", "4", "5"])
    values, _, after = page(client, 0)
    # A reader that last saw nothing learns three hits it never read were dropped.
    assert (before, values, after) == (0, ["4", "5"], 3)


def test_delete_is_not_counted_as_an_eviction() -> None:
    client = create_app(strict=False, max_hits=2).test_client()
    post_hits(client, ["1"])
    client.delete("/hits")
    assert page(client, 0) == ([], [], 0)


@pytest.mark.parametrize("after", ["-1", "x", "1.5", "", "²"])
def test_after_that_is_not_a_hit_id_is_refused_with_400(after: str) -> None:
    client = create_app(strict=False).test_client()
    response = client.get(f"/hits?after={after}")
    assert (response.status_code, response.get_json()["error"]) == (
        400,
        "after must be a hit id (a non-negative integer)",
    )
