"""Provides the backends: how a list of tasks is handed to threads, processes and pools.

Each driver runs in the supervisor's main thread, as a user's script would. It reports when it
hands a task over (submitted) and when it gets the task's result back (received), so the order
of ``map``, ``as_completed`` and ``wait`` shows in the trace.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.pool
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from workloads import events, probe
from workloads.spec import RunSpec

Item = tuple[int, Any, Any]
Emit = Callable[[events.Event], None]


def run_task_tagged(item: Item) -> tuple[int, Any]:
    """``probe.run_task`` that also returns the task id (for completion-order APIs)."""
    return item[0], probe.run_task(item)


@dataclass
class Drive:
    """What a driver needs and what it leaves for the supervisor."""

    spec: RunSpec
    items: list[Item]
    emit: Emit
    address: str
    fresh_worker_per_task: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    context: Any = None  # what the backend opened before the run started (dask: its cluster)
    ended_ns: int | None = None  # when the run's work ended, if before the driver returns
    begun_ns: int | None = None  # when it began, if the driver knows better (dask, see there)
    last_round: bool = True  # (--rounds) after this round the run ends
    handles: Callable[[], Iterable[BaseProcess]] = lambda: ()

    def submitted(self, task: int) -> None:
        self.emit(events.task_submitted(task, time.perf_counter_ns()))

    def received(self, task: int, result: Any) -> None:
        """The driver holds ``task``'s result now; only the moment is recorded, not the value
        (the probe already sent its short repr, and a run's results can be large)."""
        del result
        self.emit(events.task_result(task, time.perf_counter_ns()))


def _sequential(d: Drive) -> None:
    d.detail["workers"] = 1
    for item in d.items:
        d.submitted(item[0])
        d.received(item[0], probe.run_task(item))


def _threads(d: Drive) -> None:
    d.detail["workers"] = len(d.items)
    results: dict[int, Any] = {}
    done: queue.SimpleQueue[int] = queue.SimpleQueue()

    def body(item: Item) -> None:
        try:
            results[item[0]] = probe.run_task(item)
        finally:
            done.put(item[0])

    threads = [threading.Thread(target=body, args=(item,), daemon=True) for item in d.items]
    for thread, item in zip(threads, d.items, strict=True):
        d.submitted(item[0])
        thread.start()
    if d.spec.mode == "as-completed":
        for _ in threads:
            task = done.get()
            d.received(task, results.get(task))
    elif d.spec.mode == "map":  # each result in input order, as soon as its thread ends
        for thread, item in zip(threads, d.items, strict=True):
            thread.join()
            d.received(item[0], results.get(item[0]))
    else:  # wait: every result becomes available together
        for thread in threads:
            thread.join()
        for item in d.items:
            d.received(item[0], results.get(item[0]))
    for thread in threads:
        thread.join()


def _futures(d: Drive, executor: cf.Executor, chunksize: int) -> None:
    if d.spec.mode == "map":
        for item in d.items:
            d.submitted(item[0])
        results = executor.map(probe.run_task, d.items, chunksize=chunksize)
        for item, result in zip(d.items, results, strict=True):
            d.received(item[0], result)
        return
    futures: dict[cf.Future[Any], int] = {}
    for item in d.items:
        d.submitted(item[0])
        futures[executor.submit(probe.run_task, item)] = item[0]
    if d.spec.mode == "as-completed":
        for future in cf.as_completed(futures):
            d.received(futures[future], _outcome(future))
    else:
        cf.wait(futures)
        for future, task in futures.items():
            d.received(task, _outcome(future))


def _outcome(future: cf.Future[Any]) -> Any:
    try:
        return future.result()
    except BaseException as exc:  # noqa: BLE001 - reported, never re-raised into the driver
        return probe.TaskFailure(probe.error_text(exc))


def _thread_pool(d: Drive) -> None:
    d.detail["workers"] = d.spec.workers
    d.detail["chunksize"] = None  # ThreadPoolExecutor.map ignores chunksize
    with cf.ThreadPoolExecutor(max_workers=d.spec.workers, thread_name_prefix="pool") as executor:
        _futures(d, executor, 1)


# Every worker process a backend starts, by pid, registered the instant it starts: a pool
# forgets a dead worker at once (and a worker can start, run a task and die before anyone
# looked at the pool's list), yet its exit code is read from this handle afterwards.
STARTED: dict[int, BaseProcess] = {}


def _registering(base: type[BaseProcess]) -> type[BaseProcess]:
    class Registered(base):  # type: ignore[misc, valid-type]
        created_ns = events.UNMEASURED  # when start() was called: the worker's start-up from

        def start(self) -> None:
            self.created_ns = time.perf_counter_ns()
            super().start()
            if self.pid is not None:
                STARTED[self.pid] = self

    Registered.__name__ = Registered.__qualname__ = f"Registered{base.__name__}"
    return Registered


# Module-level, so that spawn and forkserver can pickle them by name (Windows has no fork).
RegisteredSpawnProcess = _registering(multiprocessing.context.SpawnProcess)
_REGISTERED: dict[str, type[BaseProcess]] = {"spawn": RegisteredSpawnProcess}
if sys.platform != "win32":
    RegisteredForkProcess = _registering(multiprocessing.context.ForkProcess)
    RegisteredForkServerProcess = _registering(multiprocessing.context.ForkServerProcess)
    _REGISTERED.update(fork=RegisteredForkProcess, forkserver=RegisteredForkServerProcess)


class _RegisteringContext:
    """A multiprocessing context whose processes register in ``STARTED``; pools and
    executors take it wherever they take a context."""

    def __init__(self, context: multiprocessing.context.BaseContext, method: str) -> None:
        self._context = context
        self.Process = _REGISTERED[method]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _context(d: Drive) -> Any:
    method = d.spec.start_method or multiprocessing.get_start_method()
    return _RegisteringContext(multiprocessing.get_context(method), method)


def _started() -> list[BaseProcess]:
    return list(STARTED.values())


def _processes(d: Drive) -> None:
    ctx = _context(d)
    d.detail["workers"] = len(d.items)
    procs: dict[int, BaseProcess] = {}
    d.handles = lambda: list(procs.values())
    for item in d.items:
        proc = ctx.Process(
            target=probe.process_entry,
            args=(d.address, d.spec.start_method, item),
            name=f"task-{item[0]}",
        )
        d.submitted(item[0])
        proc.start()
        procs[item[0]] = proc

    def joined(task: int) -> None:
        proc = procs[task]
        proc.join()
        if proc.exitcode not in (0, None) and proc.pid is not None:
            d.emit(events.worker_down(proc.pid, time.perf_counter_ns(), proc.exitcode))

    # A Process returns nothing: its result is known to the driver when it has exited.
    if d.spec.mode == "as-completed":
        by_sentinel = {proc.sentinel: task for task, proc in procs.items()}
        while by_sentinel:
            for sentinel in multiprocessing.connection.wait(list(by_sentinel)):
                task = by_sentinel.pop(sentinel)  # type: ignore[arg-type]
                joined(task)
                d.received(task, None)
    else:
        for task in procs:
            joined(task)
            if d.spec.mode == "map":
                d.received(task, None)
        if d.spec.mode == "wait":
            for task in procs:
                d.received(task, None)


def _mp_pool(d: Drive) -> None:
    ctx = _context(d)
    d.detail["workers"] = d.spec.workers
    pool = multiprocessing.pool.Pool(
        d.spec.workers,
        initializer=probe.init_worker,
        initargs=(d.address, d.spec.start_method),
        maxtasksperchild=1 if d.fresh_worker_per_task else None,
        context=ctx,
    )
    d.detail["maxtasksperchild"] = 1 if d.fresh_worker_per_task else None
    d.handles = _started
    try:
        mode = d.spec.mode
        if mode == "map":
            chunksize = d.spec.chunksize
            if chunksize is None and d.fresh_worker_per_task:
                chunksize = 1  # one fork per task: the point of the workload
            if chunksize is None:  # Pool.map's own default, reported
                chunksize, extra = divmod(len(d.items), d.spec.workers * 4)
                chunksize += 1 if extra else 0
            d.detail["chunksize"] = chunksize
            for item in d.items:
                d.submitted(item[0])
            results = pool.map(probe.run_task, d.items, chunksize)
            for item, result in zip(d.items, results, strict=True):
                d.received(item[0], result)
        elif mode == "as-completed":
            chunksize = d.spec.chunksize or 1
            d.detail["chunksize"] = chunksize
            for item in d.items:
                d.submitted(item[0])
            for task, result in pool.imap_unordered(run_task_tagged, d.items, chunksize):
                d.received(task, result)
        else:
            d.detail["chunksize"] = None
            pending = []
            for item in d.items:
                d.submitted(item[0])
                pending.append((item[0], pool.apply_async(probe.run_task, (item,))))
            for _, async_result in pending:
                async_result.wait()
            for task, async_result in pending:
                d.received(task, async_result.get())
        pool.close()
        pool.join()
    finally:
        pool.terminate()


def _process_pool(d: Drive) -> None:
    ctx = _context(d)
    d.detail["workers"] = d.spec.workers
    kwargs: dict[str, Any] = {}
    if d.fresh_worker_per_task and d.spec.start_method != "fork" and sys.version_info >= (3, 11):
        # ProcessPoolExecutor refuses max_tasks_per_child with fork.
        kwargs["max_tasks_per_child"] = 1
    d.detail["max_tasks_per_child"] = kwargs.get("max_tasks_per_child")
    executor = cf.ProcessPoolExecutor(
        max_workers=d.spec.workers,
        mp_context=ctx,
        initializer=probe.init_worker,
        initargs=(d.address, d.spec.start_method),
        **kwargs,
    )
    d.handles = _started
    chunksize = d.spec.chunksize or 1
    d.detail["chunksize"] = chunksize if d.spec.mode == "map" else None
    try:
        _futures(d, executor, chunksize)
    finally:
        executor.shutdown(wait=True)


def _loky(d: Drive) -> None:
    """joblib's loky: its reusable process pool, started its own way ("loky" workers)."""
    import loky  # type: ignore[import-untyped]

    d.detail["workers"] = d.spec.workers
    d.detail["start_method"] = "loky"
    chunksize = d.spec.chunksize or 1
    d.detail["chunksize"] = chunksize if d.spec.mode == "map" else None
    executor = loky.get_reusable_executor(
        max_workers=d.spec.workers,
        initializer=probe.init_worker,
        initargs=(d.address, "loky"),
    )
    d.handles = lambda: list(getattr(executor, "_processes", {}).values())
    try:
        _futures(d, executor, chunksize)
    except BaseException:
        executor.shutdown(wait=True)
        raise
    if d.last_round:  # else the next round gets it back warm, as a script's next call would
        executor.shutdown(wait=True)  # its workers end as a pool's do (killing them is a crash)


def _interpreter_pool(d: Drive) -> None:
    """InterpreterPoolExecutor (Python 3.14): one sub-interpreter, with a GIL of its own, per
    worker thread of this one process."""
    pool = getattr(cf, "InterpreterPoolExecutor")  # noqa: B009 - absent before 3.14
    d.detail["workers"] = d.spec.workers
    chunksize = d.spec.chunksize or 1
    d.detail["chunksize"] = chunksize if d.spec.mode == "map" else None
    executor = pool(
        max_workers=d.spec.workers, initializer=probe.init_interpreter, initargs=(d.address,)
    )
    try:
        _futures(d, executor, chunksize)
    finally:
        executor.shutdown(wait=True)


def _asyncio(d: Drive) -> None:
    """One coroutine per task on one event loop, in the supervisor's main thread."""
    import asyncio

    d.detail["workers"] = len(d.items)
    d.detail["chunksize"] = None
    asyncio.run(_coroutines(d))
    # Workers are the tasks in progress at once: as many lanes as the loop needed, and the
    # threads of asyncio's default executor that to_thread used.
    slots, threaded = probe.coroutine_lanes()
    pool = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor's size
    d.detail["workers"] = max(slots, min(threaded, pool), 1)


def _dask(d: Drive) -> None:
    """dask.distributed: the tasks on a cluster's workers (opened by ``backend_context``)."""
    from workloads import cluster

    d.detail["chunksize"] = None
    cluster.drive(d.context, d.spec, d)


@contextlib.contextmanager
def backend_context(spec: RunSpec, emit: Emit, address: str) -> Iterator[Any]:
    """What a backend needs before its run starts; dask: its cluster, up (its start counts in
    the run's wall time, as a pool's workers' start does)."""
    if spec.backend != "dask":
        yield None
        return
    from workloads import cluster

    with cluster.open_cluster(spec, emit, address) as opened:
        yield opened


async def _coroutines(d: Drive) -> None:
    import asyncio

    run = probe.run_coroutine
    if d.spec.workers_given:  # --workers: at most that many coroutines in progress at once
        limit = asyncio.Semaphore(d.spec.workers)

        async def run(item: Item) -> tuple[int, Any]:
            async with limit:
                return await probe.run_coroutine(item)

    futures = []
    for item in d.items:
        d.submitted(item[0])
        futures.append(asyncio.ensure_future(run(item)))
    if d.spec.mode == "map":  # gather: every result, in input order, once all are done
        for task, result in await asyncio.gather(*futures):
            d.received(task, result)
    elif d.spec.mode == "as-completed":
        for next_done in asyncio.as_completed(futures):
            task, result = await next_done
            d.received(task, result)
    else:
        await asyncio.wait(futures)
        for future in futures:
            task, result = future.result()
            d.received(task, result)


DRIVERS: dict[str, Callable[[Drive], None]] = {
    "sequential": _sequential,
    "threads": _threads,
    "thread-pool": _thread_pool,
    "processes": _processes,
    "mp-pool": _mp_pool,
    "process-pool": _process_pool,
    "asyncio": _asyncio,
    "loky": _loky,
    "interpreter-pool": _interpreter_pool,
    "dask": _dask,
}


def lane_kind(backend: str) -> str:
    """How a backend's lanes are labelled."""
    if backend == "sequential":
        return events.LANE_MAIN
    if backend in ("threads", "thread-pool"):
        return events.LANE_THREAD
    if backend == "asyncio":
        return events.LANE_CORO
    if backend == "interpreter-pool":
        return events.LANE_INTERP
    if backend == "dask":
        return events.LANE_DASK
    return events.LANE_PROC


def iter_items(function: Any, inputs: list[Any]) -> Iterator[Item]:
    """The task tuples a driver hands out: (task id, function or target, argument)."""
    for task, argument in enumerate(inputs):
        yield task, function, argument
