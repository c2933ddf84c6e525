"""`make soak`: the whole local stack under faults, crashes and outages; counts what survives.

Drives signed calls (every platform's scenarios once, then generic calls with fresh ids, since a
platform's scenario always carries the same call id) at a steady rate while it:
- makes the collector fail `--fault-rate` of requests per destination, rotating through 5xx
  answers, slow answers below dispatch's timeout and slow answers above it (Google counts such
  a hit although dispatch gave up: the one duplicate no ledger can see, counted apart);
- kills dispatch mid-send and ingest once (SIGKILL) and starts them again;
- freezes the Pub/Sub emulator (SIGSTOP/SIGCONT) and then the Firestore emulator;
- posts webhooks again, republishes kept calls as the sweeper does, and replays the dead
  letters with tools/replay.py.
At the end it prints per destination: accepted, delivered, duplicates, lost, dead letters by
reason, time to drain, and which component lost a call. Exit status 1 unless lost = 0 and
duplicates = 0 (beyond the counted timed-out-but-counted ones).

Only loopback traffic; every process it starts is its own stack's, stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from google.cloud import pubsub_v1

from shared.events import derive_event_id
from shared.hits.ua import cache_buster
from shared.outbox import sweep
from shared.settings import Settings
from tools.replay import DeadLetter, Filter, ledger_lookup, replay
from tools.scenarios import PLATFORMS, build_requests, expected_events, scenario_names
from tools.send_call import sample_call, signed_headers
from tools.stack import DEV_SECRET, Ports, Stack
from tools.topology import dead_letter_subscription

DESTINATIONS = ("owox", "ua")
# Where each destination's hits arrive at the collector (a fault is chosen by path prefix).
FAULT_PREFIXES = {"owox": "/owox", "ua": "/collect"}
HTTP_TIMEOUT_S = 2
TOPIC, DEAD_LETTER_TOPIC = "call-events", "call-events-dead-letter"
DEAD_LETTER_SPY = "soak-dead-letter-spy"
CALL_SPY = "soak-call-spy"
VENDOR_ATTEMPTS = 5  # how often the driver, like a platform, retries a refused webhook


@dataclass(frozen=True)
class Options:
    """What one soak run does."""

    calls: int = 2000
    rate: float = 25.0
    fault_rate: float = 0.3
    # Relative weights of the fault kinds: 5xx, slow below the timeout, slow above it.
    fault_mix: tuple[int, int, int] = (2, 1, 1)
    pubsub_freeze_s: float = 15.0
    firestore_freeze_s: float = 12.0
    repost_share: float = 0.1
    drain_timeout_s: float = 240.0
    seed: int = 12


@dataclass
class Ledger:
    """What the driver saw: accepted event ids, refusals, and the webhooks it may post again."""

    accepted: set[str] = field(default_factory=set)
    # Every event the posted webhooks must publish: scenarios' expected events, generic calls.
    expected: set[str] = field(default_factory=set)
    refused: Counter[int] = field(default_factory=Counter)
    kept_answers: int = 0
    reposted: int = 0
    sent_bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Faults:
    """The collector's fault rotation; remembers which fault ids were slower than the timeout."""

    url: str
    options: Options
    rng: random.Random
    timeout_fault_ids: set[int] = field(default_factory=set)

    def rotate(self) -> None:
        requests.delete(f"{self.url}/faults", timeout=5).raise_for_status()
        kind = self.rng.choices(("5xx", "slow", "timeout"), weights=self.options.fault_mix)[0]
        for prefix in FAULT_PREFIXES.values():
            spec: dict[str, Any] = {"rate": self.options.fault_rate, "path_prefix": prefix}
            if kind == "5xx":
                spec |= {"status": 503}
            elif kind == "slow":
                spec |= {"status": None, "latency_ms": HTTP_TIMEOUT_S * 400}
            else:
                spec |= {"status": None, "latency_ms": HTTP_TIMEOUT_S * 1000 + 1000}
            answer = requests.post(f"{self.url}/faults", json=spec, timeout=5)
            answer.raise_for_status()
            if kind == "timeout":
                self.timeout_fault_ids.add(int(answer.json()["id"]))

    def clear(self) -> None:
        requests.delete(f"{self.url}/faults", timeout=5).raise_for_status()


@dataclass
class Report:
    """Per destination counts, and the verdict."""

    rows: dict[str, dict[str, Any]]
    drain_s: float
    elapsed_s: float
    notes: list[str]

    @property
    def passed(self) -> bool:
        return all(row["lost"] == 0 and row["duplicates"] == 0 for row in self.rows.values())

    def table(self) -> str:
        columns = ("expected", "accepted", "delivered", "duplicates", "timed_out_counted", "lost")
        lines = [f"{'destination':12}" + "".join(f"{c:>19}" for c in columns)]
        for name, row in self.rows.items():
            lines.append(f"{name:12}" + "".join(f"{row[c]:>19}" for c in columns))
        for name, row in self.rows.items():
            reasons = ", ".join(f"{r}={n}" for r, n in sorted(row["dead_letters"].items()))
            lines.append(f"{name}: dead letters by reason: {reasons or 'none'}")
            lines.append(f"{name}: lost by component: {row['lost_by_component'] or 'none'}")
        lines.append(f"time to drain after the last call: {self.drain_s:.1f} s")
        lines.append(f"whole run: {self.elapsed_s:.1f} s")
        lines += self.notes
        return "\n".join(lines)


def run(options: Options, ports: Ports | None = None) -> Report:
    """One soak run on a fresh stack of its own."""
    rng = random.Random(options.seed)
    env = {
        "HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT_S),
        # A frozen Pub/Sub must make ingest keep calls well inside a platform's timeout.
        "PUBLISH_TIMEOUT_SECONDS": "3",
        # Longer than one attempt (the timeout), short enough that a crashed claim lapses soon.
        "DELIVERY_LEASE_SECONDS": "8",
        "LEDGER_TIMEOUT_SECONDS": "3",
    }
    started = time.monotonic()
    with Stack(ports=ports or Ports.free(), env=env, destinations=DESTINATIONS) as stack:
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        os.environ["FIRESTORE_EMULATOR_HOST"] = stack.firestore_host
        _spy(stack.project, DEAD_LETTER_TOPIC, DEAD_LETTER_SPY)
        _spy(stack.project, TOPIC, CALL_SPY)
        settings = Settings.from_env({**stack.function_env(), **env})
        faults = Faults(stack.collector_url, options, rng)
        seen = Ledger()
        stop_sweeping = threading.Event()
        sweeper = threading.Thread(target=_sweep_loop, args=(settings, stop_sweeping), daemon=True)
        sweeper.start()
        notes: list[str] = []
        try:
            _drive(stack, options, faults, seen, rng, notes)
            last_call = time.monotonic()
            faults.clear()
            _repost(stack, seen, options, rng)
            _drain(stack, seen, options.drain_timeout_s)
            letters = _replay_dead_letters(stack, notes)
            if letters:
                _drain(stack, seen, options.drain_timeout_s)
            drain_s = time.monotonic() - last_call
        finally:
            stop_sweeping.set()
            for name in ("emulator", "firestore"):
                stack.freeze(name, False)
        rows = _count(stack, seen, faults)
        notes.append(
            f"webhooks refused (vendor retried): {dict(seen.refused) or 'none'}; "
            f"answered as kept: {seen.kept_answers}; posted again: {seen.reposted}"
        )
    return Report(rows, drain_s, time.monotonic() - started, notes)


def _drive(
    stack: Stack,
    options: Options,
    faults: Faults,
    seen: Ledger,
    rng: random.Random,
    notes: list[str],
) -> None:
    """Post every call at the rate, with the chaos steps at fixed points of the schedule."""
    started_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    vendor = [
        (request, started_at)
        for source in PLATFORMS
        for scenario in scenario_names(source)
        for request in build_requests(
            source, scenario, started_at, stack.ingest_url, datetime.now(UTC)
        )
    ]
    seen.expected.update(
        event.event_id
        for source in PLATFORMS
        for scenario in scenario_names(source)
        for event in expected_events(source, scenario, started_at)
    )
    generic = max(0, options.calls - len(vendor))
    duration = (len(vendor) + generic) / options.rate
    chaos = [
        (0.2, lambda: _kill_dispatch_mid_send(stack, notes)),
        (0.35, lambda: _restart(stack, "ingest", notes)),
        (0.5, lambda: _freeze(stack, "emulator", options.pubsub_freeze_s, notes)),
        (0.75, lambda: _freeze(stack, "firestore", options.firestore_freeze_s, notes)),
    ]
    begin = time.monotonic()
    # One step after another: overlapping outages would make both stores refuse a call, which
    # is a 503 by design, not what the soak measures.
    chaos_thread = threading.Thread(target=_run_chaos, args=(chaos, begin, duration), daemon=True)
    chaos_thread.start()
    with ThreadPoolExecutor(16) as pool:
        for request, _ in vendor:
            _pace(begin, options.rate, len(seen.sent_bodies))
            pool.submit(_post_vendor, stack, request, seen)
            seen.sent_bodies.append(b"")
        next_rotation = 0.0
        for index in range(generic):
            elapsed = time.monotonic() - begin
            if elapsed >= next_rotation:
                faults.rotate()
                next_rotation = elapsed + 2
            _pace(begin, options.rate, len(vendor) + index)
            call_id = f"soak-{uuid.uuid4().hex}"
            body = json.dumps(sample_call(call_id)).encode()
            with seen.lock:
                seen.expected.add(derive_event_id("generic", call_id))
                seen.sent_bodies.append(body)
            pool.submit(_post_generic, stack, body, seen)
    chaos_thread.join()


def _run_chaos(chaos: list[tuple[float, Any]], begin: float, duration: float) -> None:
    for point, step in chaos:
        delay = begin + point * duration - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        step()


def _pace(begin: float, rate: float, index: int) -> None:
    delay = begin + index / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _post_generic(stack: Stack, body: bytes, seen: Ledger) -> None:
    def send() -> requests.Response:
        return requests.post(
            f"{stack.ingest_url}/generic",
            data=body,
            headers=signed_headers(DEV_SECRET, body),
            timeout=30,
        )

    _with_vendor_retries(send, seen)


def _post_vendor(stack: Stack, request: Any, seen: Ledger) -> None:
    def send() -> requests.Response:
        return requests.request(
            request.method,
            f"{stack.ingest_url}{request.target}",
            data=request.body,
            headers=request.headers,
            timeout=30,
        )

    _with_vendor_retries(send, seen)


def _with_vendor_retries(send: Any, seen: Ledger) -> None:
    for attempt in range(VENDOR_ATTEMPTS):
        try:
            response = send()
        except requests.RequestException:
            status = 0  # ingest was down: a connection refused or reset
        else:
            status = response.status_code
            if status < 300:
                try:
                    body = response.json()
                except ValueError:  # a platform's own answer (TwiML, plain text)
                    body = {}
                if not isinstance(body, dict):
                    body = {}
                with seen.lock:
                    seen.accepted.update(body.get("event_ids", []))
                    seen.kept_answers += 1 if body.get("kept") else 0
                return
        with seen.lock:
            seen.refused[status] += 1
        time.sleep(0.5 * (attempt + 1))


def _kill_dispatch_mid_send(stack: Stack, notes: list[str]) -> None:
    # While slow answers are in flight a kill lands mid-send: claims are left `sending`.
    _restart(stack, "dispatch", notes)


def _restart(stack: Stack, name: str, notes: list[str]) -> None:
    began = time.monotonic()
    stack.restart(name)
    notes.append(f"killed {name} (SIGKILL), back in {time.monotonic() - began:.1f} s")


def _freeze(stack: Stack, name: str, seconds: float, notes: list[str]) -> None:
    stack.freeze(name, True)
    try:
        time.sleep(seconds)
    finally:
        stack.freeze(name, False)
    notes.append(f"froze {name} for {seconds:g} s (SIGSTOP/SIGCONT)")


def _repost(stack: Stack, seen: Ledger, options: Options, rng: random.Random) -> None:
    bodies = [body for body in seen.sent_bodies if body]
    again = rng.sample(bodies, int(len(bodies) * options.repost_share))
    with ThreadPoolExecutor(8) as pool:
        for body in again:
            pool.submit(_post_generic, stack, body, seen)
    seen.reposted = len(again)


def _sweep_loop(settings: Settings, stop: threading.Event) -> None:
    """What Cloud Scheduler does with sweep-kept, every few seconds instead of every minute."""
    while not stop.wait(3):
        with contextlib.suppress(Exception):  # a frozen emulator: the next round tries again
            sweep(settings)


def _outcomes(stack: Stack) -> dict[tuple[str, str], set[str]]:
    """(event id, destination) → outcomes dispatch logged for it."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for line in stack.log_path("dispatch").read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("event_id") and record.get("destination"):
                found[(record["event_id"], record["destination"])].add(record["outcome"])
    return found


def _drain(stack: Stack, seen: Ledger, timeout_s: float) -> None:
    """Wait until every accepted call ended at every destination: sent, duplicate or dead."""
    final = {"sent", "duplicate", "dead_lettered", "skipped"}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        outcomes = _outcomes(stack)
        open_ = [
            (event_id, destination)
            for event_id in seen.accepted
            for destination in DESTINATIONS
            if not outcomes.get((event_id, destination), set()) & final
        ]
        if not open_:
            return
        time.sleep(3)


def _replay_dead_letters(stack: Stack, notes: list[str]) -> list[DeadLetter]:
    settings = Settings()
    asked: list[DeadLetter] = []

    def confirm(letters: Sequence[DeadLetter]) -> bool:
        asked.extend(letters)
        return True  # the soak counts them instead of asking

    letters = replay(
        stack.project,
        TOPIC,
        dead_letter_subscription(DEAD_LETTER_TOPIC),
        Filter(),
        in_flight=ledger_lookup(
            stack.project, settings.firestore_database, settings.deliveries_collection
        ),
        confirm=confirm,
    )
    notes.append(
        f"replayed {len(letters)} dead letter(s) with tools/replay.py, {len(asked)} of them"
        " left `sending` by a killed attempt (resent on confirmation)"
    )
    return letters


def _count(stack: Stack, seen: Ledger, faults: Faults) -> dict[str, dict[str, Any]]:
    hits = requests.get(f"{stack.collector_url}/hits", timeout=60).json()
    by_z = {cache_buster(event_id): event_id for event_id in seen.accepted}
    counted: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for hit in hits:
        event_id = by_z.get(str((hit.get("params") or {}).get("z")))
        fault = hit.get("fault")
        # A hit answered with a fault status was refused; one only delayed was counted.
        if event_id and (fault is None or fault.get("status") is None):
            counted[(event_id, _destination(hit))].append(hit)
    dead = _pull_all(stack.project, DEAD_LETTER_SPY)
    published = {m["event_id"] for m in _pull_all(stack.project, CALL_SPY)}
    outcomes = _outcomes(stack)
    rows: dict[str, dict[str, Any]] = {}
    for destination in DESTINATIONS:
        dead_here = [d for d in dead if d["destination"] == destination]
        dead_ids = {d["event_id"] for d in dead_here}
        delivered = duplicates = timed_out = 0
        lost_by: Counter[str] = Counter()
        for event_id in seen.accepted:
            records = counted.get((event_id, destination), [])
            if records:
                delivered += 1
                extra = len(records) - 1
                slow = sum(1 for r in records if _fault_id(r) in faults.timeout_fault_ids)
                excused = min(extra, slow)
                timed_out += excused
                duplicates += extra - excused
            elif event_id in dead_ids or "skipped" in outcomes.get((event_id, destination), ()):
                continue  # dead-lettered (and listed), or a spam call sent nowhere on purpose
            else:
                lost_by[_blame(event_id, destination, published, outcomes)] += 1
        rows[destination] = {
            "expected": len(seen.expected),
            "accepted": len(seen.accepted),
            "delivered": delivered,
            "duplicates": duplicates,
            "timed_out_counted": timed_out,
            "lost": sum(lost_by.values()),
            "lost_by_component": dict(lost_by),
            "dead_letters": Counter(d["reason"] for d in dead_here),
        }
    return rows


EMULATOR_NEVER_PUSHED = "Pub/Sub emulator (published, never pushed to dispatch)"
EMULATOR_NOT_REDELIVERED = "Pub/Sub emulator (answered 503, never redelivered, no dead letter)"
EMULATOR_BLAME = frozenset({EMULATOR_NEVER_PUSHED, EMULATOR_NOT_REDELIVERED})


def _blame(
    event_id: str,
    destination: str,
    published: set[str],
    outcomes: dict[tuple[str, str], set[str]],
) -> str:
    """Which component lost a call: never published, never pushed, or not redelivered.

    Dispatch answers 503 only with outcome `retry`, telling Pub/Sub to deliver again; a call
    whose every outcome is `retry` was given up by Pub/Sub without a dead letter (issue 9's
    emulator drop), not by our code.
    """
    if event_id not in published:
        return "ingest/kept (never published)"
    seen = outcomes.get((event_id, destination), set())
    if not seen:
        return EMULATOR_NEVER_PUSHED
    if seen <= {"retry"}:
        return EMULATOR_NOT_REDELIVERED
    return "dispatch (pushed, neither sent nor dead-lettered)"


def _fault_id(hit: dict[str, Any]) -> object:
    return (hit.get("fault") or {}).get("id")


def _destination(hit: dict[str, Any]) -> str:
    return "owox" if hit.get("destination") == "owox" else "ua"


def _spy(project: str, topic: str, name: str) -> None:
    with pubsub_v1.SubscriberClient() as subscriber:
        subscriber.create_subscription(
            name=subscriber.subscription_path(project, name),
            topic=f"projects/{project}/topics/{topic}",
            ack_deadline_seconds=60,
        )


def _pull_all(project: str, name: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    with pubsub_v1.SubscriberClient() as subscriber:
        path = subscriber.subscription_path(project, name)
        while True:
            response = subscriber.pull(
                request={"subscription": path, "max_messages": 1000}, timeout=5
            )
            if not response.received_messages:
                return found
            subscriber.acknowledge(
                request={
                    "subscription": path,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
            for message in response.received_messages:
                letter = DeadLetter("", b"", dict(message.message.attributes))
                found.append(
                    {
                        **letter.attributes,
                        "destination": letter.destination,
                        "reason": letter.reason,
                    }
                )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak and print the table; 1 unless nothing was lost or doubled."""
    defaults = Options()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=defaults.calls)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="calls per second")
    parser.add_argument("--fault-rate", type=float, default=defaults.fault_rate)
    parser.add_argument(
        "--fault-mix",
        default=",".join(map(str, defaults.fault_mix)),
        help="weights of 5xx, slow-below-timeout, slow-above-timeout faults",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    weights = tuple(int(part) for part in args.fault_mix.split(","))
    if len(weights) != 3:
        parser.error("--fault-mix takes three weights, e.g. 2,1,1")
    options = Options(
        calls=args.calls,
        rate=args.rate,
        fault_rate=args.fault_rate,
        fault_mix=(weights[0], weights[1], weights[2]),
        seed=args.seed,
    )
    report = run(options)
    print(report.table())
    print("PASS: nothing lost, nothing doubled" if report.passed else "FAIL")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
