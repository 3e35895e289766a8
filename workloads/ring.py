"""Provides the event ring: a worker's events in shared memory, there the instant they happen.

Each worker process writes its events into a file-backed shared-memory ring of fixed-size
records; the supervisor reads every ring a few times a second and once more when a worker
dies. An event is in shared memory as soon as ``emit`` returns, so a worker killed the next
instant (SIGKILL, a segfault, ``os._exit``) or stopped (SIGSTOP) loses nothing it recorded.
No pickling: one ``struct.pack_into`` per event.

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

from workloads import events

RECORDS = 1 << 13  # per worker: ~1.1 MB of shared memory, touched only as it is written
TEXT = 88  # text bytes a record holds; longer text continues in the next records
HEADER = 64  # the reader's position (u64) at offset 0

# seq, kind, more-text flag, task, pid, tid, t, cpu, status, text length, text, seq again
RECORD = struct.Struct(f"<QBBIIQqqBB{TEXT}sQ")
SEQ = struct.Struct("<Q")
SIZE = RECORD.size
_pack = RECORD.pack_into

_LANE_KINDS = (events.LANE_MAIN, events.LANE_THREAD, events.LANE_PROC)
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
        self._view = memoryview(self._map)
        self._lock = threading.Lock()
        self._seq = 1
        self._limit = 1 + RECORDS  # the first sequence number that would overwrite unread ones

    def emit(self, event: events.Event) -> None:
        """Write one event; it is in shared memory when this returns."""
        kind = event[0]
        # The two events of every task take the short way: one record, no slicing.
        if kind == events.TASK_STARTED:
            self._one(kind, event[1], event[2], event[3], event[4], 0, 0, b"")
            return
        if kind == events.TASK_FINISHED and not event[8]:
            text = event[7].encode("utf-8", "replace") if event[7] else b""
            if len(text) <= TEXT:
                self._one(kind, event[1], event[2], event[3], event[4], event[5], event[6], text)
                return
        self._emit_long(event)

    def _one(
        self, kind: int, task: int, pid: int, tid: int, t: int, cpu: int, status: int, text: bytes
    ) -> None:
        """One record whose text fits it."""
        with self._lock:
            seq = self._seq
            if seq >= self._limit:
                self._wait_for_room(seq)
            _pack(
                self._view,
                HEADER + (seq % RECORDS) * SIZE,
                seq, kind, 0, task, pid, tid, t, cpu, status, len(text), text, seq,
            )  # fmt: skip
            self._seq = seq + 1

    def _emit_long(self, event: events.Event) -> None:
        """Any event, text of any length (continued over several records)."""
        kind = event[0]
        text = b""
        flags = 0
        if kind == events.TASK_STARTED:
            _, task, pid, tid, t = event
            fields = (task, pid, tid, t, 0, 0)
        elif kind == events.TASK_FINISHED:
            _, task, pid, tid, t, cpu, status, result, error = event
            fields = (task, pid, tid, t, cpu, status)
            if error:
                text, flags = error.encode("utf-8", "replace"), ERROR_TEXT
            else:
                text = (result or "").encode("utf-8", "replace")
        elif kind == events.WORKER_UP:
            _, pid, tid, t, lane_kind, start_method = event
            fields = (0, pid, tid, t, 0, _LANE_KINDS.index(lane_kind))
            text = (start_method or "").encode()
        elif kind == events.TASK_LEFT:
            _, task, pid, t, children = event
            fields = (task, pid, 0, t, 0, 0)
            text = "\n".join(f"{child} {what}" for child, what in children).encode(
                "utf-8", "replace"
            )
        else:
            raise ValueError(f"event kind {kind} does not travel through a ring")
        with self._lock:
            self._write(kind, flags, fields, text)

    def _write(self, kind: int, flags: int, fields: tuple[int, ...], text: bytes) -> None:
        while True:
            chunk, text = text[:TEXT], text[TEXT:]
            more = CONTINUED if text else 0
            seq = self._seq
            if seq >= self._limit:
                self._wait_for_room(seq)
            RECORD.pack_into(
                self._view,
                HEADER + (seq % RECORDS) * SIZE,
                seq,
                kind,
                flags | more,
                *fields,
                len(chunk),
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
            (read,) = SEQ.unpack_from(self._view, 0)
            self._limit = max(read, 1) + RECORDS
            if seq < self._limit:
                return
            time.sleep(0.0005)

    def close(self) -> None:
        """Unmap (the file stays for the reader; the run's end removes it)."""
        with self._lock, contextlib.suppress(Exception):
            self._view.release()
            self._map.close()


class Reader:
    """The supervisor's side of one worker's ring."""

    def __init__(self, path: str) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, HEADER + RECORDS * SIZE)
        finally:
            os.close(fd)
        self._next = 1

    def _complete(self, seq: int) -> bool:
        """Whether the record numbered ``seq`` is written whole."""
        at = HEADER + (seq % RECORDS) * SIZE
        view = self._map
        head: int = SEQ.unpack_from(view, at)[0]
        tail: int = SEQ.unpack_from(view, at + SIZE - 8)[0]
        return head == seq and tail == seq

    def read(self) -> bytes:
        """The records written since the last read (raw; :func:`decode` makes events)."""
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
        first, last = start % RECORDS, seq % RECORDS
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
    unpack = RECORD.unpack_from
    text = b""
    for at in range(0, len(raw) - SIZE + 1, SIZE):
        _, kind, flags, task, pid, tid, t, cpu, status, length, chunk, _ = unpack(raw, at)
        text += chunk[:length]
        if flags & CONTINUED:
            continue
        if kind == events.TASK_STARTED:
            out.append((kind, task, pid, tid, t))
        elif kind == events.TASK_FINISHED:
            said = text.decode("utf-8", "replace")
            if flags & ERROR_TEXT:
                out.append((kind, task, pid, tid, t, cpu, status, "", said))
            else:
                out.append((kind, task, pid, tid, t, cpu, status, said, None))
        elif kind == events.WORKER_UP:
            method = text.decode() or None
            out.append((kind, pid, tid, t, _LANE_KINDS[status], method))
        elif kind == events.TASK_LEFT:
            children = []
            for line in text.decode("utf-8", "replace").splitlines():
                child, _, what = line.partition(" ")
                children.append((int(child), what))
            out.append((kind, task, pid, t, tuple(children)))
        text = b""
    return out
