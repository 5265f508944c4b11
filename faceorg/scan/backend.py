"""Where a scan reads its photos: the analysis backend hands the scanner batches of read photos, in order.

The local backend reads (hash and decode) in a thread pool and leaves face analysis to the scanner's own
analyser; a remote backend (:mod:`faceorg.scan.ray_backend`) also finds the faces where it reads the
photos, and hands back results without pixels (``ReadResult.faces`` set).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from faceorg.concurrency import bounded_map
from faceorg.progress import Progress
from faceorg.scan.catalog import ReadJob

if TYPE_CHECKING:
    from faceorg.scan.scanner import ReadResult

Reader = Callable[[ReadJob], "ReadResult"]


class AnalysisBackend(Protocol):
    """Reads the planned photos (and maybe finds their faces) and yields them in batches, in plan order."""

    #: The progress stage shown while it runs ("Reading photos").
    stage: str

    def batches(self, jobs: list[ReadJob], batch_size: int, read: Reader,
                progress: Progress) -> Generator[list[ReadResult], None, None]:
        """Batches of at most ``batch_size`` results, in the order of ``jobs``. ``read`` reads one photo
        locally. Raises CancelledError when ``progress`` is cancelled; stopping early frees everything."""
        ...

    def describe(self) -> dict[str, Any] | None:
        """Figures for the scan's summary (None for the local backend)."""
        ...


class LocalBackend:
    """Reads photos in ``workers`` threads of this process; the scanner analyses the faces."""

    stage = "Reading photos"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def batches(self, jobs: list[ReadJob], batch_size: int, read: Reader,
                progress: Progress) -> Generator[list[ReadResult], None, None]:
        batch: list[ReadResult] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="faceorg-read") as pool:
            for result in bounded_map(pool, read, jobs, depth=self.workers * 4):
                batch.append(result)
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
                progress.check_cancelled()
            if batch:
                yield batch

    def describe(self) -> dict[str, Any] | None:
        return None
