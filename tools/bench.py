"""Benchmarks (`make bench`): ours side by side with the bare framework and a naive publisher.

In one run, on loopback, with the same functions-framework server and THREADS for every server:
ingest against the floor (a bare function answering 202) and a naive publisher (json.loads,
publish with the client library's defaults, wait for the ack; also shown published by ingest's
publisher), driven by `wrk` at 1 and 64 connections; dispatch with and without the delivery
ledger against the emulator pushing straight to a no-op endpoint (the push floor) and a naive
dispatch (decode, POST with requests); the import time of each entry point and peak RSS under
load. Prints a table of ratios and exits 1 when a ratio misses
the targets of issue 13 (TARGETS below): a check, not a test in CI.

The machine is shared and noisy: compare ratios within one run, never absolute numbers across
runs. Every process started here is stopped on exit; nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from tools.stack import BIN, DEV_SECRET, REPO, Ports, Stack, free_port

MAIN = REPO / "functions" / "main.py"
COMPARED = REPO / "tools" / "bench_servers.py"
LOG_DIR = REPO / ".cache" / "bench-logs"
THREADS = "32"  # as deployed (terraform's max concurrency per instance), for every server
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
INGEST_TOPIC = "bench-call-events"


@dataclass(frozen=True)
class Target:
    """One figure of issue 13 and the bound it must stay within."""

    name: str
    bound: float
    at_least: bool  # True: the figure must be >= bound; False: <= bound

    def met(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value <= self.bound


TARGETS = {
    "ingest_calls_vs_naive": Target("ingest calls/s at 64 conns ÷ naive", 1.0, True),
    "ingest_cpu_vs_naive": Target("ingest CPU per call at 64 conns ÷ naive", 1.25, False),
    "ingest_p50_vs_naive": Target("ingest p50 at 1 conn ÷ naive", 0.8, False),
    "import_over_baseline_ms": Target("entry point import over its clients, ms", 100, False),
    "ingest_loads_firestore": Target("ingest imports Firestore (0 = no)", 0, False),
    "ledger_rate_vs_plain": Target("dispatch msg/s, ledger ÷ no ledger", 0.67, True),
    "ledger_cpu_vs_plain": Target("dispatch CPU per msg, ledger ÷ no ledger", 1.5, False),
    "plain_rate_vs_push_floor": Target("dispatch msg/s, no ledger ÷ push floor", 0.8, True),
    "ingest_rss_vs_naive": Target("ingest peak RSS ÷ naive", 1.3, False),
    "dispatch_rss_mib": Target("dispatch peak RSS, MiB", 200, False),
}


# --- processes we start, and what the kernel says they cost ------------------------------------


@dataclass
class Server:
    """A functions-framework server in its own process group (gunicorn's master and worker)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_s(self) -> float:
        """User + system CPU seconds so far of every live process in the group."""
        return (
            sum(utime + stime for utime, stime, _ in _group_stats(self.process.pid)) / CLOCK_TICKS
        )

    def peak_rss_mib(self) -> float:
        """The largest VmHWM (peak resident set) of a process in the group."""
        peaks = [_vm_hwm_kib(pid) for _, _, pid in _group_stats(self.process.pid)]
        return max(peaks, default=0) / 1024


def _group_stats(group: int) -> list[tuple[int, int, int]]:
    """(utime, stime, pid) of each process whose process group is `group`."""
    stats = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # Fields after the command name, which may itself hold spaces and parentheses.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if int(fields[2]) == group:
                stats.append((int(fields[11]), int(fields[12]), int(entry.name)))
    return stats


def _vm_hwm_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def servers(
    specs: Mapping[str, tuple[Path, str, Mapping[str, str]]],
) -> Iterator[dict[str, Server]]:
    """Start one functions-framework per spec (source, target, extra env); stop them all after."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    started: dict[str, Server] = {}
    try:
        for name, (source, target, env) in specs.items():
            port = free_port()
            command = [str(BIN / "functions-framework"), "--target", target, "--source"]
            command += [str(source), "--host", "127.0.0.1", "--port", str(port)]
            with (LOG_DIR / f"{name}.log").open("wb") as log:
                process = subprocess.Popen(
                    command,
                    cwd=REPO,
                    env={**os.environ, **env, "THREADS": THREADS, "PYTHONPATH": str(REPO)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            started[name] = Server(name, port, process)
        for server in started.values():
            _wait_answering(server)
        yield started
    finally:
        for server in started.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGTERM)
        for server in started.values():
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()


def _wait_answering(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = (LOG_DIR / f"{server.name}.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{server.url}/healthz", timeout=1)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer within 60 s")


# --- ingest under wrk --------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What one wrk run measured, and what the server spent on it."""

    calls_s: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # server CPU per accepted request
    failed: int  # non-2xx answers and socket errors


def signed_call_script(directory: Path) -> Path:
    """A wrk script posting one signed generic call (valid for five minutes) as a vendor would."""
    from tools.send_call import sample_call, signed_headers

    body = json.dumps(sample_call("bench-wrk")).encode()
    headers = signed_headers(DEV_SECRET, body)
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body.decode()}]==]"]
    lines += [f'wrk.headers["{name}"] = [==[{value}]==]' for name, value in headers.items()]
    path = directory / "signed_call.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(server: Server, url_path: str, connections: int, seconds: int, script: Path) -> Load:
    """Drive `server` with wrk for `seconds`; the CPU read is of the server's process group."""
    cpu_before = server.cpu_s()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    output = subprocess.run(
        [*command, f"{server.url}{url_path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    cpu = server.cpu_s() - cpu_before
    total = int(_match(r"(\d+) requests in", output))
    failed = int(_match(r"Non-2xx or 3xx responses: (\d+)", output, "0"))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed += sum(int(count) for count in errors.groups()) if errors else 0
    return Load(
        calls_s=float(_match(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_duration_ms(_match(r"\s50%\s+(\S+)", output)),
        p99_ms=_duration_ms(_match(r"\s99%\s+(\S+)", output)),
        cpu_us=cpu / max(1, total) * 1e6,
        failed=failed,
    )


def _match(pattern: str, text: str, default: str | None = None) -> str:
    found = re.search(pattern, text)
    if found:
        return found.group(1)
    if default is None:
        raise RuntimeError(f"wrk's output has no {pattern!r}:\n{text}")
    return default


def _duration_ms(text: str) -> float:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * units[unit]


def bench_ingest(
    stack: Stack, seconds: int
) -> tuple[dict[tuple[str, int], Load], dict[str, float]]:
    """Floor, naive and ingest at 1 and 64 connections; their loads and peak RSS (MiB)."""
    from tools.bench_servers import NAIVE_TOPIC

    _create_topics(stack, [INGEST_TOPIC, NAIVE_TOPIC])
    env = {**_function_env(stack), "PUBSUB_TOPIC": INGEST_TOPIC}
    specs = {
        "floor": (COMPARED, "floor", env),
        "naive": (COMPARED, "naive", env),
        "naive-grouped": (COMPARED, "naive_grouped", env),
        "ingest": (MAIN, "ingest", env),
    }
    paths = dict.fromkeys(specs, "/generic")
    loads: dict[tuple[str, int], Load] = {}
    with servers(specs) as running, tempfile.TemporaryDirectory() as scratch:
        script = signed_call_script(Path(scratch))
        for name, server in running.items():  # first publish opens the gRPC channel
            wrk(server, paths[name], 8, 2, script)
        for connections in (1, 64):
            for name, server in running.items():
                loads[name, connections] = wrk(server, paths[name], connections, seconds, script)
        rss = {name: server.peak_rss_mib() for name, server in running.items()}
    return loads, rss


# --- dispatch: emulator push to a no-op endpoint, with and without the ledger -------------------


@dataclass(frozen=True)
class Pushed:
    """Messages per second through one push subscription, and the receiver's CPU per message."""

    messages_s: float
    cpu_us: float
    delivered: int


# Pushes through each receiver before it is measured: the emulators are Java, and their first
# few hundred requests run far slower than the rest (the Firestore emulator's first 200 writes
# take about three times as long as its later ones), which a production service never shows.
WARM_UP_MESSAGES = 200


def bench_dispatch(stack: Stack, messages: int) -> tuple[dict[str, Pushed], float, int]:
    """Push floor, naive dispatch, dispatch without and with the ledger; their rates,
    dispatch's peak RSS, and the most pushes the emulator had under way at once."""
    with servers({"counter": (COMPARED, "counter", {})}) as sink:
        counter = sink["counter"]
        env = {**_function_env(stack), "OWOX_ENDPOINT": f"{counter.url}/owox"}
        specs = {
            "naive-dispatch": (COMPARED, "naive_dispatch", env),
            "dispatch-no-ledger": (MAIN, "dispatch", {**env, "DEDUP": "off"}),
            "dispatch-ledger": (MAIN, "dispatch", {**env, "DEDUP": "firestore"}),
        }
        with servers(specs) as running:
            receivers = {"push floor": counter, **running}
            topics = {name: f"bench-push-{index}" for index, name in enumerate(receivers)}
            for name, server in receivers.items():
                _create_push(stack, topics[name], f"{server.url}/owox")
            results: dict[str, Pushed] = {}
            concurrency = 0
            for name, server in receivers.items():
                _push_through(stack, topics[name], counter, server, WARM_UP_MESSAGES, f"w-{name}")
                _peak(counter)
                results[name] = _push_through(stack, topics[name], counter, server, messages, name)
                if server is counter:
                    concurrency = _peak(counter)
            rss = max(
                server.peak_rss_mib()
                for name, server in running.items()
                if name != "naive-dispatch"
            )
    return results, rss, concurrency


def _push_through(
    stack: Stack, topic: str, counter: Server, receiver: Server, messages: int, label: str
) -> Pushed:
    """Publish `messages` distinct call events; time until the counter has seen every one."""
    from google.cloud import pubsub_v1

    from shared.events import SCHEMA_VERSION, event_to_json, parse_event
    from tools.send_call import sample_call

    events = [
        parse_event({"source": "generic", **sample_call(f"bench-{label}-{index}")}, "US")
        for index in range(messages)
    ]
    publisher = pubsub_v1.PublisherClient()
    path = publisher.topic_path(stack.project, topic)
    start_count = _count(counter)
    cpu_before, started = receiver.cpu_s(), time.perf_counter()
    futures = [
        publisher.publish(
            path,
            event_to_json(event),
            event_id=event.event_id,
            source=event.source,
            status=event.status.value,
            schema_version=str(SCHEMA_VERSION),
        )
        for event in events
    ]
    for future in futures:
        future.result(timeout=30)
    # Bounded: a receiver the emulator stops pushing to shows as fewer delivered, not a hang.
    delivered, deadline = 0, time.monotonic() + 30
    while delivered < messages and time.monotonic() < deadline:
        time.sleep(0.05)
        delivered = _count(counter) - start_count
    elapsed = time.perf_counter() - started
    cpu = receiver.cpu_s() - cpu_before
    publisher.transport.close()
    return Pushed(delivered / elapsed, cpu / max(1, delivered) * 1e6, delivered)


def _count(counter: Server) -> int:
    return int(requests.get(f"{counter.url}/count", timeout=5).text)


def _peak(counter: Server) -> int:
    """The most requests the counter had under way at once since the last call."""
    return int(requests.get(f"{counter.url}/peak", timeout=5).text)


def _create_topics(stack: Stack, topics: list[str]) -> None:
    from google.api_core import exceptions as api_exceptions
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    for topic in topics:
        with contextlib.suppress(api_exceptions.AlreadyExists):
            publisher.create_topic(name=publisher.topic_path(stack.project, topic))
    publisher.transport.close()


def _create_push(stack: Stack, topic: str, endpoint: str) -> None:
    from tools.topology import create_topology

    create_topology(
        emulator_host=stack.emulator_host,
        project=stack.project,
        topic=topic,
        dead_letter_topic=f"{topic}-dead-letter",
        push_endpoints={"owox": endpoint},
    )


def _function_env(stack: Stack) -> dict[str, str]:
    return {
        **stack.function_env(),
        "PUBSUB_EMULATOR_HOST": stack.emulator_host,
        "FIRESTORE_EMULATOR_HOST": stack.firestore_host,
    }


# --- cold start: import time of each entry point ----------------------------------------------


@dataclass(frozen=True)
class Import:
    """Best import time of an entry point and of the clients it needs, alone (IMPORT_RUNS)."""

    entry_ms: float
    baseline_ms: float
    loads_firestore: bool


IMPORT_RUNS = 7


def bench_imports() -> dict[str, Import]:
    """Load each entry point as functions-framework does, in a fresh interpreter, against the
    clients it needs alone: the best of IMPORT_RUNS each, the two alternating so that a burst
    of load on the shared machine falls on both rather than on one."""
    clients = {
        "ingest": "",
        "dispatch": "from google.cloud import firestore; import certifi, urllib3",
    }
    results = {}
    for target, extra in clients.items():
        entry = f"functions_framework.create_app(target={target!r}, source={str(MAIN)!r})"
        # The floor's module already imports functions-framework, Flask and the Pub/Sub client.
        baseline = f"functions_framework.create_app(target='floor', source={str(COMPARED)!r})"
        baseline += f"; {extra}" if extra else ""
        entry_runs, baseline_runs = [], []
        for _ in range(IMPORT_RUNS):
            entry_runs.append(_import_once(entry))
            baseline_runs.append(_import_once(baseline))
        results[target] = Import(
            min(ms for ms, _ in entry_runs), min(ms for ms, _ in baseline_runs), entry_runs[0][1]
        )
    return results


def _import_once(statement: str) -> tuple[float, bool]:
    """Milliseconds to run `statement` after a fresh start, and whether Firestore got loaded."""
    code = (
        "import time, sys\nstarted = time.perf_counter()\nimport functions_framework\n"
        f"{statement}\nprint((time.perf_counter() - started) * 1000,"
        " 'google.cloud.firestore' in sys.modules)"
    )
    env = {**os.environ, **Stack().function_env(), "PYTHONPATH": str(REPO)}
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return float(output[0]), output[1] == "True"


# --- the table --------------------------------------------------------------------------------


@dataclass
class Report:
    """Rows to print and the figures checked against TARGETS."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def add(self, line: str = "") -> None:
        # Printed as it comes: a part that fails later does not take the earlier figures with it.
        print(line, flush=True)
        self.lines.append(line)

    def verdicts(self) -> list[tuple[Target, float, bool]]:
        return [
            (TARGETS[key], value, TARGETS[key].met(value)) for key, value in self.figures.items()
        ]


def _ratio(part: float, whole: float) -> float:
    """part ÷ whole, or NaN (which meets no target) when nothing was measured."""
    return part / whole if whole else float("nan")


def ingest_rows(
    report: Report, loads: Mapping[tuple[str, int], Load], rss: Mapping[str, float]
) -> None:
    report.add("Ingest (wrk, a signed generic call; CPU = server process group, per request)")
    report.add("naive: the client library's batcher; naive-grouped: ingest's publisher")
    report.add(
        f"{'server':13} {'conns':>5} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7}"
        f" {'failed':>6}  {'calls /floor':>12} {'/naive':>6}  {'CPU /floor':>10} {'/naive':>6}"
    )
    for connections in (1, 64):
        floor, naive = loads["floor", connections], loads["naive", connections]
        for name in ("floor", "naive", "naive-grouped", "ingest"):
            load = loads[name, connections]
            report.add(
                f"{name:13} {connections:5} {load.calls_s:8.0f}"
                f" {load.p50_ms:7.1f} {load.p99_ms:7.1f}"
                f" {load.cpu_us:7.0f} {load.failed:6}"
                f"  {_ratio(load.calls_s, floor.calls_s):12.2f}"
                f" {_ratio(load.calls_s, naive.calls_s):6.2f}"
                f"  {_ratio(load.cpu_us, floor.cpu_us):10.2f}"
                f" {_ratio(load.cpu_us, naive.cpu_us):6.2f}"
            )
    report.add("peak RSS MiB: " + ", ".join(f"{name} {mib:.0f}" for name, mib in rss.items()))
    ours, naive = loads["ingest", 64], loads["naive", 64]
    report.figures["ingest_calls_vs_naive"] = ours.calls_s / naive.calls_s
    report.figures["ingest_cpu_vs_naive"] = ours.cpu_us / naive.cpu_us
    report.figures["ingest_p50_vs_naive"] = loads["ingest", 1].p50_ms / loads["naive", 1].p50_ms
    report.figures["ingest_rss_vs_naive"] = rss["ingest"] / rss["naive"]
    if any(load.failed for load in loads.values()):
        report.add("WARNING: some requests failed; see the failed column and .cache/bench-logs/")


def dispatch_rows(
    report: Report, pushed: Mapping[str, Pushed], rss: float, messages: int, concurrency: int
) -> None:
    report.add(
        f"Dispatch ({messages} messages pushed by the emulator; destination a no-op counter)"
    )
    report.add(
        f"{'receiver':22} {'msg/s':>7} {'/floor':>7} {'/naive':>7} {'CPU µs/msg':>11}"
        f" {'/naive':>7} {'delivered':>10}"
    )
    floor, naive = pushed["push floor"], pushed["naive-dispatch"]
    for name, result in pushed.items():
        report.add(
            f"{name:22} {result.messages_s:7.0f} {_ratio(result.messages_s, floor.messages_s):7.2f}"
            f" {_ratio(result.messages_s, naive.messages_s):7.2f} {result.cpu_us:11.0f}"
            f" {_ratio(result.cpu_us, naive.cpu_us):7.2f} {result.delivered:10}"
        )
    report.add(
        f"the emulator pushed at most {concurrency} messages at once: each receiver's msg/s is"
        " about that many over its latency per push"
    )
    plain, ledger = pushed["dispatch-no-ledger"], pushed["dispatch-ledger"]
    report.add(
        f"ledger ÷ no ledger: msg/s {_ratio(ledger.messages_s, plain.messages_s):.2f},"
        f" CPU per msg {_ratio(ledger.cpu_us, plain.cpu_us):.2f}; dispatch peak RSS {rss:.0f} MiB"
    )
    if any(result.delivered < messages for result in pushed.values()):
        report.add("WARNING: a receiver got fewer than every message within 30 s; see .cache/")
    report.figures["ledger_rate_vs_plain"] = _ratio(ledger.messages_s, plain.messages_s)
    report.figures["ledger_cpu_vs_plain"] = _ratio(ledger.cpu_us, plain.cpu_us)
    report.figures["plain_rate_vs_push_floor"] = _ratio(plain.messages_s, floor.messages_s)
    report.figures["dispatch_rss_mib"] = rss


def import_rows(report: Report, imports: Mapping[str, Import]) -> None:
    report.add(
        f"Cold start (fresh interpreter, best of {IMPORT_RUNS}, alternating):"
        " entry point vs its clients alone"
    )
    report.add(f"{'entry':9} {'import ms':>9} {'clients ms':>10} {'added ms':>9}  loads Firestore")
    for target, result in imports.items():
        added = result.entry_ms - result.baseline_ms
        report.add(
            f"{target:9} {result.entry_ms:9.0f} {result.baseline_ms:10.0f} {added:9.0f}"
            f"  {'yes' if result.loads_firestore else 'no'}"
        )
    report.figures["import_over_baseline_ms"] = max(
        result.entry_ms - result.baseline_ms for result in imports.values()
    )
    report.figures["ingest_loads_firestore"] = float(imports["ingest"].loads_firestore)


# --- in-process: where ingest's time goes -----------------------------------------------------


def profile_ingest(calls: int) -> None:
    """CPU per signed generic call of ingest's whole app and of the naive publisher's, in this
    process with Pub/Sub acking at once, and a cProfile of ingest's (robust to a busy machine)."""
    import cProfile
    import pstats
    from unittest import mock

    import functions_framework
    from werkzeug.test import EnvironBuilder

    from tools.send_call import sample_call, signed_headers

    body = json.dumps(sample_call("bench-profile")).encode()
    headers = list(signed_headers(DEV_SECRET, body).items())
    environ = EnvironBuilder("/generic", method="POST", data=body, headers=headers).get_environ()
    env = {**Stack().function_env(), "PUBSUB_TOPIC": INGEST_TOPIC}
    with (
        mock.patch.dict(os.environ, env),
        mock.patch("google.cloud.pubsub_v1.PublisherClient", _AckingPublisher),
        mock.patch("shared.publish.publisher", _AckingPublishApi),
        # The outcome lines go where Cloud Logging would read them; here, nowhere to be seen.
        contextlib.redirect_stdout(io.StringIO()),
    ):
        sources = {"ingest": MAIN, "naive": COMPARED}
        handlers = {
            name: _wsgi_call(
                functions_framework.create_app(target=name, source=str(source)),  # type: ignore[no-untyped-call]
                environ,
                body,
            )
            for name, source in sources.items()
        }
        per_call = {name: _per_call_us(handle, calls) for name, handle in handlers.items()}
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            handlers["ingest"]()
        profiler.disable()
    ratio = _ratio(per_call["ingest"], per_call["naive"])
    print(
        f"\nin-process CPU per signed call, whole app, Pub/Sub acking at once: ingest"
        f" {per_call['ingest']:.0f} µs, naive {per_call['naive']:.0f} µs (ratio {ratio:.2f})"
    )
    rows = int(os.environ.get("BENCH_PROFILE_ROWS", "45"))
    order = os.environ.get("BENCH_PROFILE_SORT", "tottime")
    pstats.Stats(profiler).sort_stats(order).print_stats(rows)


class _AckingPublisher:
    """A stand-in Pub/Sub client whose every publish is acknowledged at once."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.published = 0

    def topic_path(self, project: str, topic: str) -> str:
        return f"projects/{project}/topics/{topic}"

    def publish(self, topic: str, data: bytes, **attributes: str) -> Future[str]:
        self.published += 1
        future: Future[str] = Future()
        future.set_result(str(self.published))
        return future


class _AckingPublishApi:
    """A stand-in for the Pub/Sub API's Publish (what shared/publish.py calls), acking at once."""

    def publish(self, request: Any, **options: object) -> Any:
        return SimpleNamespace(message_ids=[str(n) for n in range(len(request.messages))])


def _wsgi_call(app: Any, environ: Mapping[str, object], body: bytes) -> Callable[[], None]:
    """One request through a WSGI app, as the server would make it; raises unless it is a 202."""

    def call() -> None:
        statuses: list[str] = []
        answer = app(
            {**environ, "wsgi.input": io.BytesIO(body)},
            lambda status, headers, exc_info=None: statuses.append(status),
        )
        b"".join(answer)
        answer.close()
        if not statuses[0].startswith("202"):
            raise RuntimeError(f"the app answered {statuses[0]}")

    return call


def _per_call_us(work: Callable[[], object], calls: int) -> float:
    work()
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls * 1e6


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    """Run every part, print the table, exit 1 if a target is missed (2 if wrk is missing)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=6, help="each wrk run (default 6)")
    parser.add_argument("--messages", type=int, default=600, help="per dispatch run (600)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only ingest's and naive's CPU in-process, and ingest's cProfile",
    )
    args = parser.parse_args()
    if args.profile:
        profile_ingest(2000)
        return 0
    if shutil.which("wrk") is None:
        print(
            "make bench: wrk not found. Install it (Debian/Ubuntu: sudo apt-get install -y wrk;"
            " macOS: brew install wrk): a Python load generator would steal the CPU it measures.",
            file=sys.stderr,
        )
        return 2
    # SIGTERM (a timeout, a supervisor) unwinds like Ctrl-C, so every server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    report = Report()
    import_rows(report, bench_imports())
    with Stack(ports=Ports.free(), services=("emulator", "firestore")) as stack:
        # The clients in this process (topic creation, publishing) talk to this emulator.
        os.environ["PUBSUB_EMULATOR_HOST"] = stack.emulator_host
        loads, rss = bench_ingest(stack, args.seconds)
        report.add()
        ingest_rows(report, loads, rss)
        pushed, dispatch_rss, concurrency = bench_dispatch(stack, args.messages)
        report.add()
        dispatch_rows(report, pushed, dispatch_rss, args.messages, concurrency)
    print(f"\nTargets (issue 13), this run ({time.monotonic() - started:.0f} s, {_machine()}):")
    verdicts = report.verdicts()
    for target, value, met in verdicts:
        bound = f"{'≥' if target.at_least else '≤'} {target.bound:g}"
        print(f"  {'ok  ' if met else 'MISS'} {target.name:45} {value:8.2f}  (target {bound})")
    return 0 if all(met for _, _, met in verdicts) else 1


def _machine() -> str:
    model = next(
        (
            line.partition(":")[2].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, {model}, load {load:.1f}, {datetime.now(UTC):%Y-%m-%d}"


if __name__ == "__main__":
    sys.exit(main())
