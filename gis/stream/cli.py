"""`citygrid fence-worker`, `citygrid broker` and `citygrid cluster` (the broker mode of issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import typer


def fence_worker_cmd(
    partitions: str = typer.Option("all", help="Partitions this worker may own, e.g. 0-3,6 (default all)"),
    name: str | None = typer.Option(None, help="Worker name in leases and logs (default host:pid:random)"),
) -> None:
    """Evaluate fences for the fix stream's partitions this worker holds (needs CITYGRID_REDIS_URL)."""
    from gis.logs import configure
    from gis.stream.worker import main

    configure()
    main(partitions, name)


def broker_cmd(
    port: int = typer.Option(6390, help="Loopback port"),
    directory: Path | None = typer.Option(None, "--dir", help="Data directory (default var/redis)"),
) -> None:
    """Run the local durable broker (redis-server, AOF fsynced per write) in the foreground."""
    from gis.settings import get_settings
    from gis.stream.redis_server import RedisServer

    srv = RedisServer(directory or get_settings().var_dir / "redis", port=port).start()
    typer.echo(f"broker: {srv.url} (data in {srv.dir}); Ctrl-C stops it")
    try:
        assert srv.proc is not None
        srv.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()


def cluster_cmd(
    fence_workers: int = typer.Option(2, help="Fence worker processes"),
    workers: int = typer.Option(1, help="HTTP worker processes"),
    port: int = typer.Option(6390, help="Broker port (when CITYGRID_REDIS_URL is not set)"),
) -> None:
    """Broker mode on one machine: the local broker (unless CITYGRID_REDIS_URL is set), N fence workers
    and `citygrid serve` with ingest through the broker. Ctrl-C stops them all."""
    from gis.settings import get_settings
    from gis.stream.redis_server import RedisServer

    settings = get_settings()
    srv = None
    url = settings.redis_url
    if not url:
        srv = RedisServer(settings.var_dir / "redis", port=port).start()
        url = srv.url
    env = {**os.environ, "CITYGRID_REDIS_URL": url, "CITYGRID_INGEST_MODE": "broker"}
    exe = [str(Path(sys.executable).with_name("citygrid"))]
    procs = [subprocess.Popen([*exe, "fence-worker", "--name", f"w{i}"], env=env) for i in range(fence_workers)]
    procs.append(subprocess.Popen([*exe, "serve", "--workers", str(workers)], env=env))
    typer.echo(f"cluster: broker {url}, {fence_workers} fence workers, {workers} HTTP workers; Ctrl-C stops")
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if srv is not None:
            srv.stop()


def register(app: typer.Typer) -> None:
    """Add the broker-mode commands to the root command (called by gis.cli)."""
    app.command("fence-worker")(fence_worker_cmd)
    app.command("broker")(broker_cmd)
    app.command("cluster")(cluster_cmd)
