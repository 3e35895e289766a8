"""Provides Player: a recorded run handed out frame by frame, at its own pace.

The dashboard feeds what the player hands out through the same path as a live run's events;
only the clock differs (the recording's, advanced by the frames' time × the speed).
"""

from __future__ import annotations

from workloads import events
from workloads.replay import Recording, replay_time


class Player:
    """Plays ``recording`` at ``speed`` × its pace; ``speed`` 0 hands it out whole."""

    def __init__(self, recording: Recording, speed: float = 1.0) -> None:
        self.recording = recording
        self.speed = speed
        self.clock = recording.begin_ns
        self.paused = False
        self._at = 0  # the next event to hand out
        self._cpu_at = 0  # the next CPU reading

    def rewind(self) -> None:
        """Back to the start (to the end at once for a whole-run replay), playing."""
        self._at = self._cpu_at = 0
        self.paused = False
        self.clock = self.recording.end_ns if self.speed <= 0 else self.recording.begin_ns

    def advance(self, seconds: float) -> None:
        """A frame's time went by: the recording's clock follows, unless paused."""
        if not self.paused and self.speed > 0:
            self.clock += int(seconds * 1e9 * self.speed)

    def due(self, budget: int) -> list[events.Event]:
        """The events up to the clock, at most ``budget``: a whole recording shown at once is
        taken in over a few frames, and q is answered meanwhile."""
        evts = self.recording.events
        start = self._at
        last = min(len(evts), start + budget)
        at = start
        while at < last and replay_time(evts[at]) <= self.clock:
            at += 1
        self._at = at
        return evts[start:at]

    def due_cpu(self) -> list[tuple[int, list[float]]]:
        """The per-core CPU readings up to the clock."""
        cpu = self.recording.cpu
        start = self._cpu_at
        at = start
        while at < len(cpu) and cpu[at][0] <= self.clock:
            at += 1
        self._cpu_at = at
        return cpu[start:at]

    @property
    def done(self) -> bool:
        """Every event handed out."""
        return self._at >= len(self.recording.events)
