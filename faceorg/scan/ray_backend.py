"""Face analysis on Ray workers: the analysis backend of ``faceorg scan --ray ADDRESS``.

Each worker is a Ray actor that loads the face models once (sent to it as bytes and checked by SHA-256,
on its GPU where it has one) and reads, decodes and analyses whole batches of photos from the path the
library records (a folder the workers share). This process, which owns the library, receives the batches
and hands them to the scanner in plan order, so the same photos get the same faces, ids and vectors as
in a local scan, and a scan killed at any point resumes like a local one. A batch whose worker dies is
sent to another worker (and a replacement worker is started); nothing is lost.

Ray is an optional extra (``pip install faceorg[ray]``) and is imported only here, lazily.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceorg.errors import FaceorgError
from faceorg.progress import Progress
from faceorg.scan.catalog import ReadJob

if TYPE_CHECKING:
    from faceorg.pipeline.analysis import AnalyzedFace
    from faceorg.pipeline.analyzer import OnnxFaceAnalyzer
    from faceorg.pipeline.recipe import AnalyzerRecipe
    from faceorg.scan.backend import Reader
    from faceorg.scan.scanner import ReadResult

log = logging.getLogger(__name__)

AUTO = "auto"  # a Ray started here, for this scan only
MAX_TRIES = 3  # a batch is given up (the scan stops with an error) after its worker died this many times
IN_FLIGHT = 2  # batches queued on each worker, so it never waits for the next


def import_ray() -> Any:
    """The ``ray`` module, or a FaceorgError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise FaceorgError("--ray needs Ray, which is not installed: `pip install faceorg[ray]` "
                           f"({exc})") from exc
    return ray


@dataclass(frozen=True)
class RayOptions:
    """Where to analyse: a Ray address (``auto``: a local Ray for this scan) and how many workers
    (None: one per GPU of the cluster, or one per two processor cores)."""

    address: str
    workers: int | None = None


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """FaceorgError at once when nothing answers at a ``host:port`` (or ``ray://host:port``) address; Ray
    itself would retry for minutes."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: Ray says what it makes of it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise FaceorgError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from exc


class RayWorker:
    """One worker's state (runs inside a Ray actor): the face analyser, built once from the recipe."""

    def __init__(self, recipe: AnalyzerRecipe | None, decode_side: int, reduced_decode: bool,
                 threads: int) -> None:
        from faceorg.pipeline.recipe import build_analyzer

        self.analyzer: OnnxFaceAnalyzer | None = (build_analyzer(recipe, threads=threads)
                                                  if recipe is not None else None)
        self.decode_side = decode_side
        self.reduced_decode = reduced_decode

    def hello(self) -> dict[str, Any]:
        """Who and where this worker is, and the device its models run on."""
        import socket

        return {"pid": os.getpid(), "host": socket.gethostname(),
                "provider": self.analyzer.embedder.provider if self.analyzer else None}

    def read(self, jobs: list[ReadJob]) -> list[ReadResult]:
        """Read a batch of photos and find the faces of those that need them; no pixels are returned."""
        from faceorg.scan.scanner import ReadResult, read_photo

        results = [read_photo(job, self.decode_side, self.reduced_decode) for job in jobs]
        wanted = [(i, r.image) for i, r in enumerate(results)
                  if r.image is not None and self.analyzer is not None and self._needs_faces(r)]
        found: dict[int, list[AnalyzedFace]] = {}
        if wanted and self.analyzer is not None:
            found = dict(zip([i for i, _ in wanted], self.analyzer.analyze([image for _, image in wanted])))
        return [ReadResult(r.job, r.content_hash, None, r.error, r.seconds, faces=found.get(i),
                           remote_info=r.image.info if r.image is not None else None)
                for i, r in enumerate(results)]

    def _needs_faces(self, result: ReadResult) -> bool:
        """Whether the library may want this photo's faces (its faces are not current with the same content)."""
        assert self.analyzer is not None
        job = result.job
        return not (job.old_faces_key == self.analyzer.key and job.old_hash is not None
                    and result.content_hash == job.old_hash)


class RayBackend:
    """Sends batches of photos to Ray workers; see the module docstring."""

    stage = "Analysing photos on Ray"

    def __init__(self, options: RayOptions, recipe: AnalyzerRecipe | None, *, decode_side: int,
                 reduced_decode: bool = True) -> None:
        self.options = options
        self.recipe = recipe
        self.decode_side = decode_side
        self.reduced_decode = reduced_decode
        self.ray = import_ray()
        self.worker_pids: list[int] = []  # of the workers started so far (a test kills one)
        self.workers_lost = 0
        self.batches_retried = 0
        self._counts = (0, 0)  # batches done, batches in all
        self._providers: set[str] = set()
        self._workers = 0
        self._started_ray = False
        self._startup_s = 0.0  # connecting (or starting Ray) and loading the workers' models

    # -- connecting ---------------------------------------------------------------------------------
    def _connect(self) -> None:
        ray = self.ray
        if self.options.address != AUTO:
            check_reachable(self.options.address)
        if ray.is_initialized():  # a Ray this process already uses (the tests' shared local Ray)
            return
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if self.options.address == AUTO:
                cores = os.cpu_count() or 1
                root = str(Path(__file__).resolve().parents[2])  # where this faceorg is, for the workers
                path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
                ray.init(num_cpus=max(cores, self.options.workers or 1), **quiet,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
            else:
                ray.init(address=self.options.address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise FaceorgError(f"cannot reach the Ray cluster at {self.options.address}: {exc}") from exc
        self._started_ray = True

    def _plan_workers(self) -> tuple[int, dict[str, float]]:
        """How many workers, and the Ray resources each one asks for."""
        resources = self.ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        if self.options.address == AUTO and self.options.workers is None:
            workers = max(1, (os.cpu_count() or 1) // 2)
        else:
            workers = self.options.workers or (gpus if gpus and self.recipe and self.recipe.use_gpu
                                               else max(1, cpus // 2))
        if workers > max(1, cpus):
            log.warning("the Ray cluster has %d processor cores: %d workers instead of %d", cpus, cpus, workers)
            workers = max(1, cpus)
        want: dict[str, float] = {"num_cpus": max(1, cpus // workers)}
        if gpus and self.recipe is not None and self.recipe.use_gpu:
            want["num_gpus"] = min(1.0, gpus / workers)
        return workers, want

    def _start_worker(self, recipe_ref: Any, want: dict[str, float]) -> Any:
        actor_class = self.ray.remote(RayWorker)
        return actor_class.options(**want).remote(recipe_ref, self.decode_side, self.reduced_decode,
                                                  int(want["num_cpus"]))

    def _greet(self, actors: list[Any], progress: Progress) -> None:
        """Wait until every worker has its models loaded (Cancel stops the wait; FaceorgError when one
        cannot start)."""
        ray = self.ray
        waiting = [actor.hello.remote() for actor in actors]
        while waiting:
            ready, waiting = ray.wait(waiting, num_returns=1, timeout=0.25)
            progress.check_cancelled()
            for ref in ready:
                try:
                    hello = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    cause = getattr(exc, "cause", None) or exc
                    raise FaceorgError("a Ray worker could not start (is faceorg[ray] installed on every worker "
                                       f"machine?): {cause}") from exc
                self.worker_pids.append(hello["pid"])
                if hello["provider"]:
                    self._providers.add(hello["provider"])
                log.info("Ray worker %s on %s (%s)", hello["pid"], hello["host"], hello["provider"] or "no faces")

    # -- running ------------------------------------------------------------------------------------
    def batches(self, jobs: list[ReadJob], batch_size: int, read: Reader,
                progress: Progress) -> Generator[list[ReadResult], None, None]:
        del read  # the workers read the photos themselves
        ray = self.ray
        start = time.perf_counter()
        self._connect()
        chunks = [jobs[i:i + batch_size] for i in range(0, len(jobs), batch_size)]
        self._counts = (0, len(chunks))
        actors: list[Any] = []
        try:
            workers, want = self._plan_workers()
            self._workers = workers
            progress.advance(0, message=f"starting {workers} Ray worker{'s' if workers != 1 else ''}")
            recipe_ref = ray.put(self.recipe)
            actors = [self._start_worker(recipe_ref, want) for _ in range(workers)]
            self._greet(actors, progress)
            self._startup_s = time.perf_counter() - start
            progress.advance(0, message=self._message())
            yield from self._run(chunks, actors, recipe_ref, want, progress)
        finally:
            for actor in actors:
                ray.kill(actor)
            if self._started_ray:
                ray.shutdown()
                self._started_ray = False

    def _run(self, chunks: list[list[ReadJob]], actors: list[Any], recipe_ref: Any, want: dict[str, float],
             progress: Progress) -> Generator[list[ReadResult], None, None]:
        ray = self.ray
        lost_errors = (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                       ray.exceptions.ObjectLostError)
        todo = list(range(len(chunks)))  # a heap: the earliest batch goes out first
        tries = [0] * len(chunks)
        running: dict[Any, tuple[int, Any]] = {}  # result ref -> (chunk index, actor)
        busy: dict[Any, int] = {id(a): 0 for a in actors}
        done: dict[int, list[ReadResult]] = {}
        next_out = 0
        window = len(actors) * IN_FLIGHT * 2  # results waiting for an earlier batch stay bounded
        while next_out < len(chunks):
            for actor in actors:
                while todo and busy[id(actor)] < IN_FLIGHT and todo[0] < next_out + window:
                    index = heapq.heappop(todo)
                    running[actor.read.remote(chunks[index])] = (index, actor)
                    busy[id(actor)] += 1
            if not running:
                raise FaceorgError("no Ray worker is left to analyse the photos")
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.25)
            progress.check_cancelled()
            for ref in ready:
                index, actor = running.pop(ref)
                alive = id(actor) in busy  # not yet known to have died
                if alive:
                    busy[id(actor)] -= 1
                try:
                    done[index] = ray.get(ref)
                except lost_errors as exc:
                    tries[index] += 1
                    if tries[index] >= MAX_TRIES:
                        raise FaceorgError(f"Ray workers died {MAX_TRIES} times on the batch of photos from "
                                           f"{chunks[index][0].path}: {exc}") from exc
                    heapq.heappush(todo, index)
                    self.batches_retried += 1
                    if alive:
                        self._replace(actors, actor, busy, recipe_ref, want)
                except ray.exceptions.RayTaskError as exc:
                    raise FaceorgError(f"a Ray worker failed on the photos from {chunks[index][0].path}: "
                                       f"{exc.cause or exc}") from exc
            while next_out in done:
                self._counts = (next_out + 1, len(chunks))
                progress.advance(0, message=self._message())
                yield done.pop(next_out)
                next_out += 1

    def _replace(self, actors: list[Any], dead: Any, busy: dict[Any, int], recipe_ref: Any,
                 want: dict[str, float]) -> None:
        """Drop a worker that died and start another in its place (where the cluster has room)."""
        actors[:] = [a for a in actors if a is not dead]
        del busy[id(dead)]
        self.workers_lost += 1
        log.warning("a Ray worker died; its batches go to the other workers")
        with contextlib.suppress(Exception):  # it is gone already
            self.ray.kill(dead)
        if self.workers_lost > 2 * self._workers:
            return  # workers keep dying: go on with those left
        fresh = self._start_worker(recipe_ref, want)
        actors.append(fresh)
        busy[id(fresh)] = 0

    def _message(self) -> str:
        done, total = self._counts
        return f"{done}/{total} batches on {self._workers} worker{'s' if self._workers != 1 else ''}"

    def describe(self) -> dict[str, Any] | None:
        done, total = self._counts
        return {"backend": "ray", "address": self.options.address, "workers": self._workers,
                "batches": total, "batches_done": done, "batches_retried": self.batches_retried,
                "workers_lost": self.workers_lost, "providers": sorted(self._providers),
                "startup_seconds": round(self._startup_s, 2)}


def ray_backend(options: RayOptions, analyzer: OnnxFaceAnalyzer | None, *, use_gpu: bool = True) -> RayBackend:
    """The Ray backend for a scan with ``analyzer`` (None: the workers only read and check the photos)."""
    from faceorg.pipeline.recipe import recipe_of
    from faceorg.scan.scanner import VALIDATE_SIDE

    recipe = recipe_of(analyzer, use_gpu=use_gpu) if analyzer is not None else None
    return RayBackend(options, recipe, decode_side=analyzer.working_side if analyzer is not None else VALIDATE_SIDE)
