"""Provides the event ring: a worker's events in shared memory, there the instant they happen.

Each worker process writes its events into a file-backed shared-memory ring of fixed-size
records; the supervisor reads every ring a few times a second and once more when a worker
dies. An event is in shared memory as soon as ``emit`` returns, so a worker killed the next
instant (SIGKILL, a segfault, ``os._exit``) or stopped (SIGSTOP) loses nothing it recorded.
No pickling: one ``struct.pack_into`` per event, and one event per task (TASK_DONE: its start
and its end). While a task runs, its thread's slot in the ring's header says which task and
since when: the reader turns that into a TASK_STARTED (a long task shows as running at the
reader's next look; a short one costs no record of its own).

A record carries its sequence number at both ends; the reader takes records while both ends
hold the number it expects next, so a record being written is never read half-done. The
reader publishes how far it has read; a writer that would overwrite unread records waits.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import Literal

from workloads import events

RECORDS = 1 << 13  # per worker: 1 MB of shared memory, touched only as it is written
MASK = RECORDS - 1
TEXT = 56  # text bytes a record holds; longer text continues in the next records

# seq, kind, more-text flag, status, text length, task, pid, tid, start, end (or the event's
# time), cpu, run-queue wait, input bytes, result bytes, text, seq again: 128 bytes, two cache
# lines.
RECORD = struct.Struct(f"<QBBBBIIIqqqqii{TEXT}sQ")
_BYTES_CAP = 2**31 - 1  # sizes a record holds (a bigger one is told as this)
SEQ = struct.Struct("<Q")
SIZE = RECORD.size
_pack = RECORD.pack_into

# The header: the reader's position (u64) at offset 0, the number of claimed slots at 8, then
# one slot per thread: the task it runs now. A slot is (n, task, tid, start, n again), n
# counting the thread's tasks; the reader takes it when both ends agree.
SLOT = struct.Struct("<QIIqQ")
SLOTS = 62
SLOT_AT = 64
HEADER = SLOT_AT + SLOTS * SLOT.size  # 2048: records start on a cache line
COUNT = struct.Struct("<Q")

_LANE_KINDS = (
    events.LANE_MAIN,
    events.LANE_THREAD,
    events.LANE_PROC,
    events.LANE_CORO,
    events.LANE_INTERP,
    events.LANE_LOOP,
    events.LANE_DASK,
)
CONTINUED = 1  # flag: the text goes on in the next record
ERROR_TEXT = 2  # flag: a finished task's text is its error, not its result


def ring_folder(rundir: str) -> Path:
    """Where a run's rings live: shared memory (/dev/shm) where there is some, else the run's
    own folder (then the page cache carries them just as well)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / Path(rundir).name
    return Path(rundir)


class Writer:
    """One process's ring (threads of the process share it)."""

    def __init__(self, folder: Path) -> None:
        self.pid = os.getpid()
        folder.mkdir(exist_ok=True)
        self.path = folder / f"ring-{self.pid}-{threading.get_native_id()}"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, HEADER + RECORDS * SIZE)
            self._map = mmap.mmap(fd, HEADER + RECORDS * SIZE)
        finally:
            os.close(fd)
        self.view = memoryview(self._map)
        self._lock = threading.Lock()
        self._seq = 1
        self._limit = 1 + RECORDS  # the first sequence number that would overwrite unread ones
        self._slots = 0

    def claim_slot(self) -> int:
        """A running-task slot for the calling thread: its offset in ``view`` (write it with
        ``SLOT.pack_into``), or -1 when every slot is taken (the thread then records a
        TASK_STARTED per task instead)."""
        with self._lock:
            if self._slots >= SLOTS:
                return -1
            at = SLOT_AT + self._slots * SLOT.size
            self._slots += 1
            COUNT.pack_into(self.view, 8, self._slots)
            return at

    def done(
        self,
        task: int,
        tid: int,
        start: int,
        end: int,
        cpu: int,
        status: int,
        text: str,
        wait: int,
        in_bytes: int,
        out_bytes: int,
    ) -> None:
        """A task's whole record (TASK_DONE with a result); in shared memory on return."""
        raw = text.encode("utf-8", "replace")
        if len(raw) > TEXT or in_bytes > _BYTES_CAP or out_bytes > _BYTES_CAP:
            self.emit(
                events.task_done(
                    task,
                    self.pid,
                    tid,
                    start,
                    end,
                    cpu,
                    status,
                    text,
                    None,
                    wait,
                    in_bytes,
                    out_bytes,
                )
            )
            return
        with self._lock:
            seq = self._seq
            if seq >= self._limit:
                self._wait_for_room(seq)
            _pack(
                self.view,
                HEADER + (seq & MASK) * SIZE,
                seq,
                events.TASK_DONE,
                0,
                status,
                len(raw),
                task,
                self.pid,
                tid,
                start,
                end,
                cpu,
                wait,
                in_bytes,
                out_bytes,
                raw,
                seq,
            )
            self._seq = seq + 1

    def emit(self, event: events.Event) -> None:
        """Write any event that travels through a ring, text of any length (continued over
        several records); it is in shared memory when this returns."""
        text = b""
        flags = 0
        status = 0
        if event[0] == events.TASK_DONE:
            _, task, pid, tid, start, end, cpu, status, result, error, wait, inb, outb = event
            if error:
                text, flags = error.encode("utf-8", "replace"), ERROR_TEXT
            else:
                text = (result or "").encode("utf-8", "replace")
            fields = (
                task,
                pid,
                tid,
                start,
                end,
                cpu,
                wait,
                min(inb, _BYTES_CAP),
                min(outb, _BYTES_CAP),
            )
        elif event[0] == events.TASK_STARTED:
            _, task, pid, tid, t = event
            fields = (task, pid, tid, t, 0, 0, 0, 0, 0)
        elif event[0] == events.STEP:
            _, task, pid, tid, start, end, cpu = event
            fields = (task, pid, tid, start, end, cpu, 0, 0, 0)
        elif event[0] == events.WORKER_UP:
            _, pid, tid, t, lane_kind, start_method = event
            fields = (0, pid, tid, 0, t, 0, 0, 0, 0)
            status = _LANE_KINDS.index(lane_kind)
            text = (start_method or "").encode()
        elif event[0] == events.TASK_LEFT:
            _, task, pid, t, children = event
            fields = (task, pid, 0, 0, t, 0, 0, 0, 0)
            text = "\n".join(f"{child} {what}" for child, what in children).encode(
                "utf-8", "replace"
            )
        else:
            raise ValueError(f"event kind {event[0]} does not travel through a ring")
        with self._lock:
            self._write(event[0], flags, status, fields, text)

    def _write(
        self, kind: int, flags: int, status: int, fields: tuple[int, ...], text: bytes
    ) -> None:
        while True:
            chunk, text = text[:TEXT], text[TEXT:]
            more = CONTINUED if text else 0
            seq = self._seq
            if seq >= self._limit:
                self._wait_for_room(seq)
            _pack(
                self.view,
                HEADER + (seq & MASK) * SIZE,
                seq,
                kind,
                flags | more,
                status,
                len(chunk),
                *fields,
                chunk,
                seq,
            )
            self._seq = seq + 1
            if not more:
                return

    def _wait_for_room(self, seq: int) -> None:
        # The reader is behind by a whole ring: wait for it (a few ms at most while it lives;
        # if it is gone, the orphan guard ends this process).
        while True:
            (read,) = SEQ.unpack_from(self.view, 0)
            self._limit = max(read, 1) + RECORDS
            if seq < self._limit:
                return
            time.sleep(0.0005)

    def close(self) -> None:
        """Unmap (the file stays for the reader; the run's end removes it)."""
        with self._lock, contextlib.suppress(Exception):
            self.view.release()
            self._map.close()


class Reader:
    """The supervisor's side of one worker's ring."""

    def __init__(self, path: str, pid: int) -> None:
        self.path = path
        self.pid = pid
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, HEADER + RECORDS * SIZE)
        finally:
            os.close(fd)
        self._next = 1
        self._told = [0] * SLOTS  # per slot: the task count last told as running

    def _complete(self, seq: int) -> bool:
        """Whether the record numbered ``seq`` is written whole."""
        at = HEADER + (seq & MASK) * SIZE
        view = self._map
        head: int = SEQ.unpack_from(view, at)[0]
        tail: int = SEQ.unpack_from(view, at + SIZE - 8)[0]
        return head == seq and tail == seq

    def read(self) -> bytes:
        """What the worker recorded since the last read (raw; :func:`decode` makes events):
        first a TASK_STARTED for each task its threads run now that was not told yet, then its
        records.

        The records are read before the slots: a task a slot shows has its TASK_DONE in these
        records or in later ones, never in earlier ones, so its start always goes first.
        """
        records = self._records()
        running = self._running()
        return running + records if running else records

    def _running(self) -> bytes:
        view = self._map
        (claimed,) = COUNT.unpack_from(view, 8)
        out = []
        told = self._told
        for i in range(min(claimed, SLOTS)):
            n, task, tid, start, tail = SLOT.unpack_from(view, SLOT_AT + i * SLOT.size)
            if n == tail and n != told[i]:
                told[i] = n
                out.append(
                    RECORD.pack(
                        0,
                        events.TASK_STARTED,
                        0,
                        0,
                        0,
                        task,
                        self.pid,
                        tid,
                        start,
                        0,
                        0,
                        0,
                        0,
                        0,
                        b"",
                        0,
                    )
                )
        return b"".join(out)

    def _records(self) -> bytes:
        start = self._next
        # Records are published in order, so the whole ones form a prefix: find its end with
        # a handful of checks (exponential, then binary search), not one per record.
        if not self._complete(start):
            return b""
        good, step = start, 1
        while step < RECORDS and self._complete(start + step):
            good, step = start + step, step * 2
        bad = start + min(step, RECORDS)
        while bad - good > 1:
            middle = (good + bad) // 2
            if self._complete(middle):
                good = middle
            else:
                bad = middle
        seq = good + 1
        view = self._map
        first, last = start & MASK, seq & MASK
        if first < last:
            raw = view[HEADER + first * SIZE : HEADER + last * SIZE]
        else:  # wrapped around the end of the ring
            raw = view[HEADER + first * SIZE :] + view[HEADER : HEADER + last * SIZE]
        self._next = seq
        SEQ.pack_into(view, 0, seq)  # room for the writer
        return raw

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._map.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def decode(raw: bytes) -> list[events.Event]:
    """Events from raw records (records of one ring, in order)."""
    out: list[events.Event] = []
    append = out.append
    text = b""
    done: Literal[13] = events.TASK_DONE
    for (
        _,
        kind,
        flags,
        status,
        length,
        task,
        pid,
        tid,
        start,
        end,
        cpu,
        wait,
        inb,
        outb,
        chunk,
        _,
    ) in RECORD.iter_unpack(raw):
        if kind == done and not flags and not text:  # a whole record: what most records are
            said = chunk[:length].decode("utf-8", "replace")
            append((done, task, pid, tid, start, end, cpu, status, said, None, wait, inb, outb))
            continue
        text += chunk[:length]
        if flags & CONTINUED:
            continue
        if kind == done:
            said = text.decode("utf-8", "replace")
            if flags & ERROR_TEXT:
                append((done, task, pid, tid, start, end, cpu, status, "", said, wait, inb, outb))
            else:
                append((done, task, pid, tid, start, end, cpu, status, said, None, wait, inb, outb))
        elif kind == events.TASK_STARTED:
            append((events.TASK_STARTED, task, pid, tid, start))
        elif kind == events.STEP:
            append((events.STEP, task, pid, tid, start, end, cpu))
        elif kind == events.WORKER_UP:
            method = text.decode() or None
            append((events.WORKER_UP, pid, tid, end, _LANE_KINDS[status], method))
        elif kind == events.TASK_LEFT:
            children = []
            for line in text.decode("utf-8", "replace").splitlines():
                child, _, what = line.partition(" ")
                children.append((int(child), what))
            append((events.TASK_LEFT, task, pid, end, tuple(children)))
        text = b""
    return out
