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
It reads dispatch's log and the collector's hits (paged, so the collector's memory stays
bounded) as it goes. At the end it prints per destination: accepted, delivered, dead letters
by reason, duplicates, the extra hits no ledger can prevent (timed out but counted, sent by an
attempt killed mid-send: each on evidence), lost split into lost by us / lost by the Pub/Sub
emulator / still retrying when the wait ended, and the time to drain. Exit status 1 unless
lost = 0 and duplicates = 0.

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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from google.cloud import pubsub_v1

from shared.deliveries import firestore_client
from shared.events import derive_event_id
from shared.hits.ua import cache_buster
from shared.outbox import sweep
from shared.publish import publisher
from shared.settings import Settings
from tools.pubsub_pull import pull_and_ack
from tools.replay import DeadLetter, Filter, ledger_lookup, replay
from tools.scenarios import PLATFORMS, build_requests, expected_events, scenario_names
from tools.send_call import sample_call, signed_headers
from tools.stack import DEV_SECRET, Ports, Stack
from tools.topology import ACK_DEADLINE_S, dead_letter_subscription

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
    # When dispatch was killed and when it answered again (UTC), to trace a hit sent by the
    # killed attempt and sent again once its claim's lease ran out.
    dispatch_kills: list[tuple[datetime, datetime]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Faults:
    """The collector's fault rotation."""

    url: str
    options: Options
    rng: random.Random

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
            requests.post(f"{self.url}/faults", json=spec, timeout=5).raise_for_status()

    def clear(self) -> None:
        requests.delete(f"{self.url}/faults", timeout=5).raise_for_status()


@dataclass
class Trail:
    """What dispatch logged per (event id, destination), read incrementally as the run goes.

    Dispatch's lines carry no time, so each is stamped when the soak reads it (every few
    seconds): enough to tell a call still being retried from one nobody pushes any more.
    """

    path: Path
    offset: int = 0
    outcomes: dict[tuple[str, str], Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    # Retries because the destination gave no answer in time: the hit may have been counted.
    timeouts: Counter[tuple[str, str]] = field(default_factory=Counter)
    last_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    # Why each retry was asked for (dispatch's detail), to trace a duplicate without the log.
    retries: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    # When any push last reached dispatch: while it is recent the emulator is still at work.
    last_push: float = 0.0

    def read(self) -> None:
        """Take in the lines written since the last read (whole lines only)."""
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        now = time.monotonic()
        for line in chunk[:end].decode(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("event_id") and record.get("destination"):
                    key = (record["event_id"], record["destination"])
                    self.outcomes[key][record["outcome"]] += 1
                    self.last_seen[key] = now
                    self.last_push = now
                    detail = str(record.get("detail", ""))
                    if detail.startswith(TIMEOUT_DETAILS):
                        self.timeouts[key] += 1
                    if record["outcome"] == "retry":
                        self.retries[key].append(detail[:80])


# Dispatch's details (shared/sending.py) for a send the destination did not answer within
# HTTP_TIMEOUT_SECONDS: its own deadline's, or the per-socket read timeout when that fires first
# (both are 2 s here). A connect timeout sent nothing, so it is not one of them.
TIMEOUT_DETAILS = ("no answer within", "ReadTimeout")


@dataclass
class Hits:
    """The collector's hits, paged with `after` as they arrive, kept small: per cache buster
    (the event's `z`), the destination, fault and arrival of every copy."""

    url: str
    last_id: int = 0
    read_count: int = 0
    unread_evicted: int = 0
    by_z: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def read(self) -> None:
        """Take in the hits recorded since the last read."""
        response = requests.get(f"{self.url}/hits", params={"after": self.last_id}, timeout=60)
        response.raise_for_status()
        # The collector evicts oldest first and this reads in id order: more evictions than
        # hits read so far means hits were dropped unread, and the counts would be wrong.
        self.unread_evicted = max(
            self.unread_evicted, int(response.headers["X-Hits-Evicted"]) - self.read_count
        )
        for hit in response.json():
            self.last_id = max(self.last_id, int(hit["id"]))
            self.read_count += 1
            z = str((hit.get("params") or {}).get("z"))
            self.by_z[z].append(
                {
                    "destination": _destination(hit),
                    "fault": hit.get("fault"),
                    "received_at": hit.get("received_at"),
                }
            )


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
        """The counts as a Markdown table (docs/development.md keeps one), then the details."""
        lines = [
            "| destination | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        for name, row in self.rows.items():
            lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in COLUMNS) + " |")
        for name, row in self.rows.items():
            reasons = ", ".join(f"{r}={n}" for r, n in sorted(row["dead_letters"].items()))
            lines.append(f"{name}: dead letters by reason: {reasons or 'none'}")
            lines.append(f"{name}: lost by component: {row['lost_by_component'] or 'none'}")
            # Every unexplained duplicate, then a few of the explained ones.
            copies = sorted(row["extra_copies"], key=lambda c: "'duplicates'" not in c)
            unexplained = sum(1 for c in copies if "'duplicates'" in c)
            for copy in copies[: max(unexplained, MAX_TRACED)]:
                lines.append(f"{name}: more than one hit: {copy}")
        lines.append(f"time to drain after the last call: {self.drain_s:.1f} s")
        lines.append(f"whole run: {self.elapsed_s:.1f} s")
        lines += self.notes
        return "\n".join(lines)


COLUMNS = (
    "expected",
    "accepted",
    "delivered",
    "dead_lettered",
    "skipped",
    "duplicates",
    "timed_out_counted",
    "killed_mid_send",
    "lost",
    "lost_by_us",
    "lost_by_emulator",
    "still_retrying",
)
MAX_TRACED = 20


def run(options: Options, ports: Ports | None = None) -> Report:
    """One soak run on a fresh stack of its own; the caller's emulator settings and clients are
    as they were afterwards (a test session goes on with its own emulators)."""
    with _own_emulator_clients():
        return _run(options, ports)


@contextlib.contextmanager
def _own_emulator_clients() -> Iterator[None]:
    names = ("PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST")
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        # Process-wide clients made during the run point at this run's (stopped) emulators.
        firestore_client.cache_clear()
        publisher.cache_clear()


def _run(options: Options, ports: Ports | None) -> Report:
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
        watch = Watch(Trail(stack.log_path("dispatch")), Hits(stack.collector_url))
        stop_sweeping = threading.Event()
        sweeper = threading.Thread(target=_sweep_loop, args=(settings, stop_sweeping), daemon=True)
        sweeper.start()
        notes: list[str] = []
        try:
            _drive(stack, options, faults, seen, rng, notes, watch)
            last_call = time.monotonic()
            faults.clear()
            _repost(stack, seen, options, rng)
            _drain(watch, seen, options.drain_timeout_s)
            letters = _replay_dead_letters(stack, notes)
            if letters:
                _drain(watch, seen, options.drain_timeout_s)
            drain_s = time.monotonic() - last_call
        finally:
            stop_sweeping.set()
            for name in ("emulator", "firestore"):
                stack.freeze(name, False)
        watch.read()
        rows = _count(stack, seen, watch)
        notes.append(
            f"webhooks refused (vendor retried): {dict(seen.refused) or 'none'}; "
            f"answered as kept: {seen.kept_answers}; posted again: {seen.reposted}"
        )
        if watch.hits.unread_evicted:
            notes.append(
                f"WARNING: the collector evicted {watch.hits.unread_evicted} hits before they"
                " were read: delivered counts are low and losses overstated"
            )
    return Report(rows, drain_s, time.monotonic() - started, notes)


@dataclass
class Watch:
    """Dispatch's log and the collector's hits, read as the run goes (only the main thread)."""

    trail: Trail
    hits: Hits
    last_read: float = 0.0

    def read(self) -> None:
        self.trail.read()
        self.hits.read()
        self.last_read = time.monotonic()

    def read_every(self, seconds: float) -> None:
        """Read again if `seconds` passed: keeps the collector's bounded memory unread-free."""
        if time.monotonic() - self.last_read >= seconds:
            self.read()


def _drive(
    stack: Stack,
    options: Options,
    faults: Faults,
    seen: Ledger,
    rng: random.Random,
    notes: list[str],
    watch: Watch,
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
        (0.2, lambda: _kill_dispatch_mid_send(stack, notes, seen)),
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
                watch.read_every(READ_EVERY_S)
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


def _kill_dispatch_mid_send(stack: Stack, notes: list[str], seen: Ledger) -> None:
    # While slow answers are in flight a kill lands mid-send: claims are left `sending`.
    killed = datetime.now(UTC)
    _restart(stack, "dispatch", notes)
    seen.dispatch_kills.append((killed, datetime.now(UTC)))


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


FINAL = frozenset({"sent", "duplicate", "dead_lettered", "skipped"})
READ_EVERY_S = 3.0


def _open_pairs(watch: Watch, seen: Ledger) -> list[tuple[str, str]]:
    """(event id, destination) of the accepted calls that have not ended at a destination."""
    outcomes = watch.trail.outcomes
    return [
        (event_id, destination)
        for event_id in seen.accepted
        for destination in DESTINATIONS
        if not FINAL & set(outcomes.get((event_id, destination), {}))
    ]


def _drain(watch: Watch, seen: Ledger, timeout_s: float) -> None:
    """Wait until every accepted call ended at every destination: sent, duplicate or dead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        watch.read()
        if not _open_pairs(watch, seen):
            return
        time.sleep(READ_EVERY_S)


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


def _count(stack: Stack, seen: Ledger, watch: Watch) -> dict[str, dict[str, Any]]:
    by_z = {cache_buster(event_id): event_id for event_id in seen.accepted}
    counted: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for z, copies in watch.hits.by_z.items():
        event_id = by_z.get(z)
        for hit in copies:
            fault = hit.get("fault")
            # A hit answered with a fault status was refused; one only delayed was counted.
            if event_id and (fault is None or fault.get("status") is None):
                counted[(event_id, hit["destination"])].append(hit)
    dead = _pull_all(stack.project, DEAD_LETTER_SPY)
    published = {m["event_id"] for m in _pull_all(stack.project, CALL_SPY)}
    trail = watch.trail
    rows: dict[str, dict[str, Any]] = {}
    for destination in DESTINATIONS:
        dead_here = [d for d in dead if d["destination"] == destination]
        dead_ids = {d["event_id"] for d in dead_here}
        tally: Counter[str] = Counter()
        lost_by: Counter[str] = Counter()
        traced: list[str] = []
        for event_id in seen.accepted:
            key = (event_id, destination)
            records = counted.get(key, [])
            if records:
                tally["delivered"] += 1
                kinds = _extra_copies(records, trail.timeouts[key], seen.dispatch_kills)
                tally.update(kinds)
                if kinds:
                    retries = "; ".join(trail.retries.get(key, [])) or "none"
                    traced.append(
                        f"{event_id}: {len(records)} hits, {dict(kinds)}, retries: {retries}"
                    )
            elif event_id in dead_ids:
                tally["dead_lettered"] += 1  # and listed by reason
            elif "skipped" in trail.outcomes.get(key, {}):
                tally["skipped"] += 1  # a spam call, sent nowhere on purpose
            else:
                lost_by[_blame(key, published, trail)] += 1
        rows[destination] = {
            "expected": len(seen.expected),
            "accepted": len(seen.accepted),
            "delivered": tally["delivered"],
            "dead_lettered": tally["dead_lettered"],
            "skipped": tally["skipped"],
            "duplicates": tally["duplicates"],
            "timed_out_counted": tally["timed_out_counted"],
            "killed_mid_send": tally["killed_mid_send"],
            "lost": sum(lost_by.values()),
            "lost_by_us": sum(n for k, n in lost_by.items() if k.startswith(BY_US)),
            "lost_by_emulator": sum(n for k, n in lost_by.items() if k.startswith(BY_EMULATOR)),
            "still_retrying": lost_by[STILL_RETRYING] + lost_by[NOT_PUSHED_YET],
            "lost_by_component": dict(lost_by),
            "dead_letters": Counter(d["reason"] for d in dead_here),
            "extra_copies": traced,
        }
    return rows


def _extra_copies(
    records: list[dict[str, Any]],
    timeouts: int,
    kills: list[tuple[datetime, datetime]],
) -> Counter[str]:
    """Why a call reached a destination more than once; `duplicates` are the unexplained.

    Two kinds no ledger can prevent, counted apart: a send dispatch gave up on after its
    timeout although the destination counted it (dispatch logged that timeout), and a send
    by an attempt killed before it could record it (the first copy arrived just before the
    kill; the redelivery took the claim over after its lease).
    """
    kinds: Counter[str] = Counter()
    extra = len(records) - 1
    if extra <= 0:
        return kinds
    kinds["timed_out_counted"] = min(extra, timeouts)
    extra -= kinds["timed_out_counted"]
    first = min(datetime.fromisoformat(str(r["received_at"])) for r in records)
    window = timedelta(seconds=HTTP_TIMEOUT_S + 2)
    if extra and any(killed - window <= first <= back for killed, back in kills):
        kinds["killed_mid_send"] = 1
        extra -= 1
    kinds["duplicates"] = extra
    return +kinds


BY_US = "lost by us"
BY_EMULATOR = "lost by the emulator"
NEVER_PUBLISHED = f"{BY_US}: accepted, never published (ingest / kept-call store)"
DISPATCH_DROPPED = f"{BY_US}: dispatch answered without sending or dead-lettering"
EMULATOR_NEVER_PUSHED = f"{BY_EMULATOR}: published, never reached dispatch"
EMULATOR_NOT_REDELIVERED = f"{BY_EMULATOR}: refused (503), not pushed again, no dead letter"
STILL_RETRYING = "not lost yet: still being retried when the wait ended"
NOT_PUSHED_YET = "not lost yet: not pushed when the wait ended, the emulator still pushing"
# A refused push comes back within about a second locally (no retry policy: tools/topology.py);
# one unseen for longer than the ack deadline is not coming back.
QUIET_FOR_S = float(ACK_DEADLINE_S)


def _blame(key: tuple[str, str], published: set[str], trail: Trail) -> str:
    """Which component lost a call: never published, never pushed, or not redelivered.

    Dispatch answers 503 only with outcome `retry`, telling Pub/Sub to deliver again; a call
    whose every outcome is `retry` and that nobody pushed for QUIET_FOR_S was given up by
    Pub/Sub without a dead letter, not by our code. One pushed more recently is a backlog the
    wait did not outlast (a longer drain timeout settles it), counted apart.
    """
    event_id, _ = key
    if event_id not in published:
        return NEVER_PUBLISHED
    outcomes = set(trail.outcomes.get(key, {}))
    quiet = time.monotonic() - trail.last_push >= QUIET_FOR_S
    if not outcomes:
        return EMULATOR_NEVER_PUSHED if quiet else NOT_PUSHED_YET
    if outcomes <= {"retry"}:
        if time.monotonic() - trail.last_seen[key] < QUIET_FOR_S:
            return STILL_RETRYING
        return EMULATOR_NOT_REDELIVERED
    return DISPATCH_DROPPED


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
        while received := pull_and_ack(subscriber, path, 1000, timeout_s=5):
            for message in received:
                letter = DeadLetter("", b"", dict(message.message.attributes))
                found.append(
                    {
                        **letter.attributes,
                        "destination": letter.destination,
                        "reason": letter.reason,
                    }
                )
    return found


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
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=defaults.drain_timeout_s,
        help="seconds to wait for every call to end after the last one, at most",
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
        drain_timeout_s=args.drain_timeout,
        seed=args.seed,
    )
    report = run(options)
    print(report.table())
    print("PASS: nothing lost, nothing doubled" if report.passed else "FAIL")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
