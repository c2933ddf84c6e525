"""Benchmarks (`make bench`): per-hit CPU cost in-process, then the whole pipeline under load.

Timings on a shared machine are noisy: read the ratios printed within one run, not absolute
numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from shared.destinations import build_ga4_request, build_owox_request, build_ua_request, guard_pii
from shared.events import parse_event
from shared.hits.ua import build_ua_hit, cache_buster
from shared.settings import Settings
from shared.validation import validate_ua_hit
from tools.send_call import sample_call, signed_headers
from tools.stack import DEV_SECRET, Ports, Stack

SETTINGS = Settings(
    ua_property_id="UA-12345678-1",
    ga4_measurement_id="G-BENCH1234",
    ga4_api_secret="bench-secret",  # noqa: S106 (a benchmark-only value)
    owox_endpoint="http://127.0.0.1:9/owox",
)


def _per_call_us(work: Callable[[], object], seconds: float = 1.5) -> float:
    """Mean microseconds per call over about `seconds` of repeated calls."""
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(50):
            work()
        count += 50
    return (time.perf_counter() - started) / count * 1e6


def micro() -> None:
    """CPU cost of each step dispatch does per hit, and of ingest's parsing."""
    now = datetime.now(UTC)
    raw = sample_call("bench-1", started_at=(now - timedelta(minutes=1)).isoformat())
    event = parse_event({"source": "generic", **raw}, "US")
    hit = build_ua_hit(event, SETTINGS, "1760224793.1424413995", now)
    steps: dict[str, Callable[[], object]] = {
        "parse generic event (ingest)": lambda: parse_event({"source": "generic", **raw}, "US"),
        "build UA hit": lambda: build_ua_hit(event, SETTINGS, "1760224793.1424413995", now),
        "validate UA hit": lambda: validate_ua_hit(hit, "google"),
        "PII guard on UA hit": lambda: guard_pii(hit, event.phones),
        "owox request (build+validate)": lambda: build_owox_request(event, SETTINGS, now),
        "ua request (build+validate+PII)": lambda: build_ua_request(event, SETTINGS, now),
        "ga4 request (build+validate+PII)": lambda: build_ga4_request(event, SETTINGS, now),
    }
    results = {name: _per_call_us(work) for name, work in steps.items()}
    baseline = results["build UA hit"]
    print("\nPer-call CPU cost (in-process, one core)")
    print(f"{'step':40} {'µs/call':>10} {'x build':>9}")
    for name, micros in results.items():
        print(f"{name:40} {micros:10.1f} {micros / baseline:9.2f}")


def macro(calls: int, concurrency: int) -> None:
    """Signed webhooks into a real local stack; latency to 202 and to the hit at the collector."""
    with Stack(ports=Ports.free(), destinations=("owox", "ua")) as stack:
        url = f"{stack.ingest_url}/generic"
        session = requests.Session()
        sent_at: dict[str, float] = {}

        def post(index: int) -> float:
            call = sample_call(f"bench-{index}-{time.time_ns()}")
            body = json.dumps(call).encode()
            started = time.perf_counter()
            response = session.post(url, data=body, headers=signed_headers(DEV_SECRET, body))
            elapsed = time.perf_counter() - started
            event_id = response.json()["event_ids"][0]
            sent_at[cache_buster(event_id)] = time.time() - elapsed
            return elapsed

        # Warm both functions up (first publish opens the gRPC channel; first send the pool).
        for index in range(5):
            post(-index - 1)
        time.sleep(2)
        requests.delete(f"{stack.collector_url}/hits", timeout=5)
        sent_at.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = sorted(pool.map(post, range(calls)))
        ingest_seconds = time.perf_counter() - started
        deadline = time.monotonic() + 60
        hits: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            hits = requests.get(f"{stack.collector_url}/hits", timeout=10).json()
            if len(hits) >= 2 * calls:
                break
            time.sleep(0.5)
        delivered_seconds = time.perf_counter() - started
        handling = _sent_latencies(stack.log_path("dispatch").read_text())
    delays = sorted(
        datetime.fromisoformat(str(hit["received_at"])).timestamp() - sent_at[str(params["z"])]
        for hit in hits
        if isinstance(params := hit.get("params"), dict) and str(params.get("z")) in sent_at
    )
    print(f"\nPipeline: {calls} signed calls, {concurrency} concurrent senders, local stack")
    print(f"  ingest: {calls / ingest_seconds:7.1f} calls/s accepted (202)")
    print(
        f"  ingest latency ms: p50 {_pct(latencies, 50):7.1f}  p95 {_pct(latencies, 95):7.1f}"
        f"  p99 {_pct(latencies, 99):7.1f}"
    )
    print(f"  delivered: {len(hits)} of {2 * calls} hits in {delivered_seconds:.1f} s")
    if handling:
        print(
            f"  dispatch per hit ms (ledger, build, validate, send): p50 {_pct(handling, 50):7.1f}"
            f"  p95 {_pct(handling, 95):7.1f}"
        )
    if delays:
        print(
            f"  webhook→hit ms: p50 {_pct(delays, 50):7.1f}  p95 {_pct(delays, 95):7.1f}"
            f"  max {delays[-1] * 1000:7.1f}"
        )
        print("  (the emulator's push scheduling, not our code, is most of webhook→hit)")


def _sent_latencies(log: str) -> list[float]:
    """Seconds dispatch spent per sent hit, from its own JSON outcome lines."""
    lines = (json.loads(line) for line in log.splitlines() if line.startswith("{"))
    return sorted(line["latency_ms"] / 1000 for line in lines if line.get("outcome") == "sent")


def _pct(sorted_seconds: list[float], percentile: int) -> float:
    if not sorted_seconds:
        return float("nan")
    index = min(len(sorted_seconds) - 1, int(len(sorted_seconds) * percentile / 100))
    return sorted_seconds[index] * 1000


def main() -> int:
    """Run the micro benchmark, then the pipeline benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--micro-only", action="store_true")
    args = parser.parse_args()
    micro()
    if not args.micro_only:
        macro(args.calls, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
