"""Import jobs of the HTTP upload: the file runs in a worker thread and reports its progress here.

Why jobs: placing 10,000 shops by address takes seconds, and the upload page wants to show how far it
got. The jobs live on `app.state.services` (process state, see api.services); a finished job keeps its
report (or its rejected rows) for `KEEP_S` so the client can read it once it sees the job done.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

KEEP_S = 3600.0
MAX_JOBS = 200


@dataclass
class Job:
    id: str
    layer: str
    actor: str
    state: str = "running"          # running, done, rejected, failed
    phase: str = "read"
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "layer": self.layer, "state": self.state, "phase": self.phase, "done": self.done,
                "total": self.total, "seconds": round((self.finished or time.time()) - self.started, 2),
                **({"result": self.result} if self.result is not None else {})}


class ImportJobs:
    """The running and recently finished imports of this process."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, layer: str, actor: str, work: Callable[[Job], dict[str, Any]],
              on_error: Callable[[Job, Exception], tuple[str, dict[str, Any]]]) -> Job:
        """Runs `work(job)` in a thread; its answer is the job's result (state done). An exception is
        turned into (state, result) by `on_error`."""
        job = Job(uuid.uuid4().hex[:12], layer, actor)
        with self._lock:
            self._forget()
            self._jobs[job.id] = job

        def run() -> None:
            try:
                job.result = work(job)
                job.state = "done"
            except Exception as exc:  # reported through the job, never lost
                job.state, job.result = on_error(job, exc)
            job.finished = time.time()

        threading.Thread(target=run, name=f"import-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _forget(self) -> None:
        now = time.time()
        old = [k for k, j in self._jobs.items() if j.finished and now - j.finished > KEEP_S]
        for k in old:
            del self._jobs[k]
        while len(self._jobs) >= MAX_JOBS:
            del self._jobs[next(iter(self._jobs))]
