"""Throwaway Redis and PostgreSQL servers and a Celery worker, as real processes a fault test may kill.

Each server listens on a free loopback port with its data in a temporary directory, so the shared
servers of the machine are never touched. Redis keeps an append-only file (fsync every second, as in
production) and restarts on the same port and directory; PostgreSQL stops fast and starts again.
PostgreSQL refuses to run as root: as root its commands run as the ``postgres`` user (runuser).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testing.polling import wait_for

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("FF_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def missing_binaries() -> list[str]:
    """What this machine lacks to run the throwaway servers (empty when everything is there)."""
    missing = [name for name in ("redis-server",) if shutil.which(name) is None]
    missing += [str(PG_BIN / name) for name in ("initdb", "pg_ctl") if not (PG_BIN / name).exists()]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    return missing


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stop(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM, grace: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


class ThrowawayRedis:
    """redis-server with AOF (everysec) on a free port; ``kill`` (SIGKILL), ``stop`` (clean) and ``start``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        command += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no"]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - the server keeps writing to it
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: self._answers(), 30, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.directory}/redis.log")
        if not _listening(self.port):
            return False
        import redis

        try:
            # While it replays the append-only file Redis answers LOADING: not ready yet.
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """``kill -9``: whatever the last second wrote may be lost, as in a crash."""
        if self.process is not None:
            _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis flushes its append-only file first."""
        if self.process is not None:
            _stop(self.process)


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb into a temporary directory) on a free port."""

    DATABASE = "forwardfactor"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{self.DATABASE}"

    def _run(self, *command: str) -> None:
        as_postgres = ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_postgres, *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def init(self, template: Path | None = None) -> ThrowawayPostgres:
        """A new cluster, or a copy of ``template`` (a stopped cluster's data directory: migrated once)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, PG_USER, PG_USER)
        if template is not None:
            self._run("cp", "-a", str(template), str(self.data))
            return self
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> ThrowawayPostgres:
        # fsync off: the scenarios stop PostgreSQL cleanly (fast stop checkpoints), never crash it.
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "postgres.log")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast``: open sessions are disconnected and their transactions rolled back."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> None:
        import psycopg2

        db = psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, dbname="postgres")
        try:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.DATABASE}"')
        finally:
            db.close()


class WorkerProcess:
    """``celery -A forwardfactor worker -Q scan,notify -c 2`` (prefork, as in production) in a process
    group of its own, so ``kill`` takes the pool's children with it as a killed container would."""

    def __init__(self, env: dict[str, str], log: Path, name: str = "faults", concurrency: int = 2) -> None:
        self.env = env
        self.log = log
        self.name = f"{name}-{os.getpid()}-{time.monotonic_ns() % 100_000}@127.0.0.1"
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "celery", "-A", "forwardfactor", "worker", "-Q", "scan,notify"]
        command += ["-c", str(self.concurrency), "-n", self.name, "--without-gossip", "--without-mingle"]
        command += ["-l", "WARNING"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, app, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the worker exited; see {self.log}")
            try:
                return any(self.name in next(iter(reply)) for reply in app.control.ping(timeout=0.5))
            except Exception:  # noqa: BLE001 - the broker may itself be coming back
                return False

        wait_for(ready, timeout, "the worker to answer a ping")

    def kill(self) -> None:
        """SIGKILL to the whole group: the parent and every pool process, no chance to ack or clean up."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


class BeatProcess:
    """``celery -A forwardfactor beat`` (the database scheduler, as in production)."""

    def __init__(self, env: dict[str, str], directory: Path) -> None:
        self.env = env
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> BeatProcess:
        command = [sys.executable, "-m", "celery", "-A", "forwardfactor", "beat", "-l", "WARNING"]
        command += ["--pidfile", str(self.directory / "beat.pid")]
        with open(self.directory / "beat.log", "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


def scratch_directory(prefix: str) -> Path:
    """A temporary directory PostgreSQL may use too (world-traversable)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path
