"""The whole pipeline on this machine: Pub/Sub and Firestore emulators, ingest, dispatch, collector.

`python -m tools.stack` is `make run`; tests use `Stack` with free ports. Every process it
starts is stopped when it exits, and a stack left behind by a crash is cleaned up on the next run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

from tools.vendor_samples import dev_environment

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEV_SECRET = "whsec_ZGV2LXNlY3JldC1mb3ItbG9jYWwtdXNlLW9ubHk="  # noqa: S105 (documented dev-only value)
DEV_PROPERTY_ID = "UA-12345678-1"
PID_FILE = REPO / ".cache" / "stack.pids"


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""


@dataclass(frozen=True)
class Ports:
    """Where each local service listens."""

    emulator: int = 8085
    ingest: int = 8080
    dispatch: int = 8081
    collector: int = 8090
    # Next to Pub/Sub's; the Firestore emulator's own default, 8080, is ingest's.
    firestore: int = 8086

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Ports:
        """Ports from INGEST_PORT, DISPATCH_PORT, COLLECTOR_PORT and the *_EMULATOR_PORTs."""
        defaults = cls()
        return cls(
            emulator=int(env.get("PUBSUB_EMULATOR_PORT", defaults.emulator)),
            ingest=int(env.get("INGEST_PORT", defaults.ingest)),
            dispatch=int(env.get("DISPATCH_PORT", defaults.dispatch)),
            collector=int(env.get("COLLECTOR_PORT", defaults.collector)),
            firestore=int(env.get("FIRESTORE_EMULATOR_PORT", defaults.firestore)),
        )

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on, for tests that run beside `make run`."""
        return cls(*(free_port() for _ in range(5)))


@dataclass
class Stack:
    """Start everything on enter, stop everything on exit."""

    ports: Ports = field(default_factory=Ports)
    env: Mapping[str, str] = field(default_factory=dict)
    destinations: tuple[str, ...] = ("owox", "ua")
    host: str = "127.0.0.1"
    log_dir: Path = REPO / ".cache" / "stack-logs"
    record_pids: bool = False
    # Tests that need only an emulator start ("emulator",) or ("firestore",); `make run`, all.
    services: tuple[str, ...] = ("emulator", "firestore", "collector", "ingest", "dispatch")
    # Deliveries per push subscription before dead-lettering (Terraform's default); tests that
    # watch Pub/Sub give up may lower it. Locally a refused push comes back after about 1 s
    # (no retry policy: tools/topology.py says why), so 40 attempts span under a minute.
    max_delivery_attempts: int | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)
    # What start() ran each service with, so restart() (tools/soak.py) runs it the same way.
    _commands: dict[str, list[str]] = field(default_factory=dict)
    _env: dict[str, str] = field(default_factory=dict)
    _readiness: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)

    @property
    def emulator_host(self) -> str:
        return f"{self.host}:{self.ports.emulator}"

    @property
    def firestore_host(self) -> str:
        return f"{self.host}:{self.ports.firestore}"

    @property
    def ingest_url(self) -> str:
        return f"http://{self.host}:{self.ports.ingest}"

    @property
    def dispatch_url(self) -> str:
        return f"http://{self.host}:{self.ports.dispatch}"

    @property
    def collector_url(self) -> str:
        return f"http://{self.host}:{self.ports.collector}"

    @property
    def project(self) -> str:
        return self.function_env()["GOOGLE_CLOUD_PROJECT"]

    def function_env(self) -> dict[str, str]:
        """The environment both functions run with: local endpoints, overridable by `env`."""
        base = {
            "GOOGLE_CLOUD_PROJECT": "local-project",
            "UA_PROPERTY_ID": DEV_PROPERTY_ID,
            "WEBHOOK_SECRET_GENERIC": DEV_SECRET,
            # Every vendor is enabled locally with a development secret: `make demo SOURCE=…`.
            **dev_environment(),
            "OWOX_ENDPOINT": f"{self.collector_url}/owox",
            "UA_COLLECT_URL": f"{self.collector_url}/collect",
            "GA4_COLLECT_URL": f"{self.collector_url}/mp/collect",
            "OWOX_GA4_URL": f"{self.collector_url}/owox-ga4/local/mp",
            "HTTP_TIMEOUT_SECONDS": "5",
            # Longer than one attempt (ledger 5 s + send 5 s + record 5 s at worst), and well
            # under the 40 attempts about 1 s apart locally (no retry policy: tools/topology.py),
            # so the claim of an attempt that crashed mid-send lapses before Pub/Sub gives up.
            # Production's 90 s sits below Terraform's 120 s minimum backoff instead.
            "DELIVERY_LEASE_SECONDS": "20",
            "THREADS": "8",
            **(_google_ads_env(self.collector_url) if "google_ads" in self.destinations else {}),
        }
        return {**base, **self.env}

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the emulators, create topics and subscriptions, the collector and dispatch;
        ingest last, once a call it accepts can be delivered."""
        (self.log_dir / f"pubsub-data-{self.ports.emulator}").mkdir(parents=True, exist_ok=True)
        for name, port in vars(self.ports).items():
            if name in self.services and port_in_use(self.host, port):
                raise StackError(
                    f"port {port} ({name}) is in use by another program: stop it, or choose "
                    f"another port with {_port_variable(name)}=<port>"
                )
        env = {
            **os.environ,
            **self.function_env(),
            "PUBSUB_EMULATOR_HOST": self.emulator_host,
            "FIRESTORE_EMULATOR_HOST": self.firestore_host,
        }
        env["PYTHONPATH"] = str(REPO)
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        commands = {
            "emulator": [
                "gcloud",
                "beta",
                "emulators",
                "pubsub",
                "start",
                f"--host-port={self.emulator_host}",
                f"--project={self.project}",
                f"--data-dir={self.log_dir / f'pubsub-data-{self.ports.emulator}'}",
            ],
            # In memory: the ledger starts empty with every stack, like the collector's hits.
            "firestore": [
                "gcloud",
                "emulators",
                "firestore",
                "start",
                f"--host-port={self.firestore_host}",
            ],
            "collector": [
                str(BIN / "python"),
                "-m",
                "tools.collector",
                "--host",
                self.host,
                "--port",
                str(self.ports.collector),
            ],
            **{
                target: [
                    str(BIN / "functions-framework"),
                    "--target",
                    target,
                    "--source",
                    str(REPO / "functions" / "main.py"),
                    "--host",
                    self.host,
                    "--port",
                    str(port),
                ]
                for target, port in (
                    ("ingest", self.ports.ingest),
                    ("dispatch", self.ports.dispatch),
                )
            },
        }
        readiness = {
            "emulator": (f"http://{self.emulator_host}/", (200,)),
            "firestore": (f"http://{self.firestore_host}/", (200,)),
            "collector": (f"{self.collector_url}/healthz", (200,)),
            "ingest": (f"{self.ingest_url}/healthz", (200,)),
            "dispatch": (f"{self.dispatch_url}/healthz", (404, 405)),
        }
        self._commands, self._env, self._readiness = commands, dict(env), readiness
        # Ingest answers 202 only once a call can travel on: it starts after the topics and
        # subscriptions exist, else a call sent in the first seconds is refused or never delivered.
        first = [name for name in self.services if name != "ingest"]
        for name in first:
            self._spawn(name, commands[name], env)
        for name in first:
            url, expect = readiness[name]
            self._wait_ready(name, url, expect)
            if name == "emulator" and "dispatch" in self.services:
                self._create_topology()
        if "ingest" in self.services:
            self._spawn("ingest", commands["ingest"], env)
            self._wait_ready("ingest", *readiness["ingest"])

    def stop(self) -> None:
        """Stop every process this stack started (their whole process groups)."""
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self.record_pids:
            PID_FILE.unlink(missing_ok=True)

    def restart(self, name: str) -> None:
        """Kill a service at once (SIGKILL, as a crash does) and start it again; its log goes on."""
        _signal_group(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()
        self._spawn(name, self._commands[name], self._env, append=True)
        self._wait_ready(name, *self._readiness[name])

    def freeze(self, name: str, frozen: bool) -> None:
        """Stop (SIGSTOP) or continue (SIGCONT) a service's whole process group."""
        _signal_group(self.processes[name].pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    def _spawn(
        self, name: str, command: list[str], env: Mapping[str, str], append: bool = False
    ) -> None:
        log = self.log_path(name).open("ab" if append else "wb")
        self._logs.append(log)
        self.processes[name] = subprocess.Popen(
            command,
            cwd=REPO,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if self.record_pids:
            PID_FILE.parent.mkdir(parents=True, exist_ok=True)
            owner_and_children = {
                "owner": os.getpid(),
                "children": [p.pid for p in self.processes.values()],
            }
            PID_FILE.write_text(json.dumps(owner_and_children))

    def clear_firestore(self, database: str) -> None:
        """Delete every document of a database on the Firestore emulator (its own reset call)."""
        url = (
            f"http://{self.firestore_host}/emulator/v1/projects/{self.project}"
            f"/databases/{database}/documents"
        )
        requests.delete(url, timeout=10).raise_for_status()

    def log_path(self, name: str) -> Path:
        """Where a service's output goes (read it when a test fails)."""
        return self.log_dir / f"{name}-{self.ports.ingest}.log"

    def _wait_ready(self, name: str, url: str, expect: tuple[int, ...] = (200,)) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                tail = self.log_path(name).read_text(errors="replace")[-2000:]
                raise StackError(f"{name} exited with {process.returncode}:\n{tail}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=1).status_code in expect:
                    return
            time.sleep(0.2)
        raise StackError(f"{name} did not become ready at {url} within 60 s")

    def _create_topology(self) -> None:
        from tools.topology import MAX_DELIVERY_ATTEMPTS, create_topology

        create_topology(
            emulator_host=self.emulator_host,
            project=self.project,
            topic=self.function_env().get("PUBSUB_TOPIC", "call-events"),
            dead_letter_topic=self.function_env().get(
                "DEAD_LETTER_TOPIC", "call-events-dead-letter"
            ),
            push_endpoints={name: f"{self.dispatch_url}/{name}" for name in self.destinations},
            max_delivery_attempts=self.max_delivery_attempts or MAX_DELIVERY_ATTEMPTS,
        )


def _google_ads_env(collector_url: str) -> dict[str, str]:
    """The Google Ads API is the collector's stand-in, with development credentials it accepts;
    GOOGLE_ADS_CUSTOMER_ID and GOOGLE_ADS_CONVERSION_ACTION come from the user's environment."""
    return {
        "GOOGLE_ADS_API_URL": collector_url,
        "GOOGLE_ADS_TOKEN_URL": f"{collector_url}/token",
        "GOOGLE_ADS_DEVELOPER_TOKEN": "local-developer-token",
        "GOOGLE_ADS_CLIENT_ID": "local-client.apps.googleusercontent.com",
        "GOOGLE_ADS_CLIENT_SECRET": "local-client-secret",
        "GOOGLE_ADS_REFRESH_TOKEN": "local-refresh-token",
    }


# Ports handed out for our servers lie below Linux's ephemeral range (32768-60999 by default):
# a port from that range can be taken as the local end of any outgoing connection in the seconds
# before an emulator binds it (seen under e2e load as the Firestore emulator's BindException).
_SERVER_PORTS = range(20000, 32768)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now, outside the ephemeral range."""
    for _ in range(100):
        port = random.randrange(_SERVER_PORTS.start, _SERVER_PORTS.stop)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError(f"no free port in {_SERVER_PORTS.start}-{_SERVER_PORTS.stop - 1}")


def port_in_use(host: str, port: int) -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def clean_stale_stack() -> None:
    """Stop what a crashed `make run` left running, saying so.

    Raises StackError when the `make run` that started them is still running.
    """
    if not PID_FILE.exists():
        return
    recorded = json.loads(PID_FILE.read_text() or "{}")
    owner = recorded.get("owner") if isinstance(recorded, dict) else None
    if isinstance(owner, int) and owner != os.getpid() and _alive(owner):
        raise StackError(f"`make run` is already running (pid {owner}): stop it with Ctrl-C first")
    children = recorded.get("children", []) if isinstance(recorded, dict) else []
    alive = [pid for pid in children if isinstance(pid, int) and _alive(pid)]
    if alive:
        print(f"Stopping {len(alive)} processes left by an earlier `make run` ({alive}).")
        for pid in alive:
            _signal_group(pid, signal.SIGTERM)
        time.sleep(2)
        for pid in alive:
            _signal_group(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _port_variable(name: str) -> str:
    variables = {"emulator": "PUBSUB_EMULATOR_PORT", "firestore": "FIRESTORE_EMULATOR_PORT"}
    return variables.get(name, f"{name.upper()}_PORT")


def enabled_destinations(env: Mapping[str, str]) -> tuple[str, ...]:
    """DESTINATIONS (comma-separated) if set; else owox and ua, plus ga4 and owox_ga4 once GA4
    is configured."""
    from shared.destinations import DESTINATIONS

    if env.get("DESTINATIONS", "").strip():
        names = [name.strip() for name in env["DESTINATIONS"].split(",") if name.strip()]
        unknown = sorted(set(names) - set(DESTINATIONS))
        if unknown:
            raise StackError(f"DESTINATIONS: unknown {unknown}; known: {sorted(DESTINATIONS)}")
        ads_ids = ("GOOGLE_ADS_CUSTOMER_ID", "GOOGLE_ADS_CONVERSION_ACTION")
        if "google_ads" in names and not all(env.get(name) for name in ads_ids):
            raise StackError(f"DESTINATIONS has google_ads: set {' and '.join(ads_ids)} too")
        return tuple(names)
    names = ["owox", "ua"]
    if env.get("GA4_MEASUREMENT_ID") and env.get("GA4_API_SECRET"):
        # OWOX BI's GA4 access point gets the same body plus the phone (the collector locally).
        names += ["ga4", "owox_ga4"]
    return tuple(names)


@contextlib.contextmanager
def _interrupts_as_exit() -> Iterator[None]:
    # SIGTERM (e.g. from a supervisor) stops the stack as cleanly as Ctrl-C does; SIGINT is
    # re-armed because a shell starts background jobs with it ignored.
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def main() -> int:
    """`make run`: start the stack, print how to use it, wait for Ctrl-C."""
    argparse.ArgumentParser(description=__doc__).parse_args()
    # Children inherit this environment; only the local defaults need the user's value to win.
    overrides = {key: os.environ[key] for key in Stack().function_env() if key in os.environ}
    try:
        clean_stale_stack()
        stack = Stack(
            ports=Ports.from_env(os.environ),
            env=overrides,
            destinations=enabled_destinations(os.environ),
            record_pids=True,
        )
        with _interrupts_as_exit(), stack:
            _print_banner(stack)
            while all(process.poll() is None for process in stack.processes.values()):
                time.sleep(0.5)
            dead = [name for name, p in stack.processes.items() if p.poll() is not None]
            print(f"{', '.join(dead)} stopped unexpectedly; see {stack.log_dir}. Stopping all.")
            return 1
    except StackError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped everything.")
    return 0


def _print_banner(stack: Stack) -> None:
    env = stack.function_env()
    sources = sorted(
        k.removeprefix("WEBHOOK_SECRET_").lower() for k in env if k.startswith("WEBHOOK_SECRET_")
    )
    dedup = os.environ.get("DEDUP") or "firestore"
    lines = [
        "The call pipeline is running:",
        f"  Pub/Sub emulator   {stack.emulator_host} (project {stack.project})",
        f"  Firestore emulator {stack.firestore_host} (delivery ledger; DEDUP={dedup})",
        f"  ingest             {stack.ingest_url}",
        *(f"    webhook          {stack.ingest_url}/{source}" for source in sources),
        f"  dispatch           {stack.dispatch_url}  (push: {', '.join(stack.destinations)})",
        f"  collector          {stack.collector_url}/hits  (recorded hits, as JSON)",
        f"  logs               {stack.log_dir}",
        "",
        f"Dev secret for /generic (WEBHOOK_SECRET_GENERIC): {env['WEBHOOK_SECRET_GENERIC']}",
        "Every source is enabled with a development secret (tools/vendor_samples.py).",
        "Send a signed sample call:   make demo   (or make demo SOURCE=callrail, twilio, …)",
        f"  (or: .venv/bin/python -m tools.send_call --base-url {stack.ingest_url} --source …)",
        f"Then see the hits:           curl -s {stack.collector_url}/hits",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
