"""Provides the executor panel: backend, workers, start method, mode and the workload's knobs."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from tui.choices import Choices
from workloads.text import visible


class ExecutorPanel(Vertical):
    """Shows the choices; numbers are edited in place and checked by the app."""

    DEFAULT_CSS = """
    ExecutorPanel { height: auto; }
    ExecutorPanel .row { height: 1; }
    ExecutorPanel .name { width: 10; color: $text-muted; }
    ExecutorPanel Input { width: 1fr; height: 1; border: none; padding: 0; }
    ExecutorPanel #problem { color: $error; height: auto; width: 1fr; }
    ExecutorPanel #edit-hint { color: $text-muted; height: auto; width: 1fr; display: none; }
    ExecutorPanel:focus-within #edit-hint { display: block; }
    ExecutorPanel #fixed { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back to the timeline"),
        Binding("up", "field(-1)", "Previous field", show=False),
        Binding("down", "field(1)", "Next field", show=False),
    ]

    class Left(Message):
        """The user is done editing (esc): focus goes back to the timeline."""

    class Changed(Message):
        """The user typed a new value for ``field``."""

        def __init__(self, field: str, text: str) -> None:
            super().__init__()
            self.field = field
            self.text = text

    EDITABLE = ("workers", "chunksize", "tasks")

    def __init__(self, choices: Choices, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.choices = choices
        self._param_names: tuple[str, ...] = ()
        self._recording: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="fixed")
        for field in self.EDITABLE:
            with Horizontal(classes="row"):
                yield Label(field, classes="name")
                yield Input(id=f"edit-{field}", compact=True, select_on_focus=True)
        yield Vertical(id="params")
        yield Label("", id="problem")
        yield Label("enter applies · ↑ ↓ next field · esc back", id="edit-hint")

    def on_mount(self) -> None:
        self.show(self.choices)

    def on_resize(self) -> None:
        self.show(self.choices)

    def show_recording(self, spec: dict[str, Any]) -> None:
        """A replay: what the recorded run used, read-only (nothing here can run it)."""
        self._recording = spec
        fixed = Text()
        rows = [
            ("backend", spec.get("backend")),
            ("start", spec.get("start_method")),
            ("mode", spec.get("mode")),
            ("workers", spec.get("workers")),
            ("chunksize", spec.get("chunksize")),
            ("tasks", spec.get("tasks")),
            *((str(name), value) for name, value in (spec.get("params") or {}).items()),
        ]
        for name, value in rows:
            fixed.append(f"{name:<10}", style="dim")
            fixed.append(f"{'—' if value in (None, '') else value}\n", style="bold")
        fixed.rstrip()
        self.query_one("#fixed", Static).update(fixed)
        for row in self.query(".row"):
            row.display = False
        self.query_one("#params").display = False

    def show(self, choices: Choices) -> None:
        """Display ``choices`` (attributes down: the app calls this)."""
        if self._recording is not None:
            self.show_recording(self._recording)
            return
        self.choices = choices
        fixed = Text()
        start = choices.start_method_label()
        if self.size.width and self.size.width < 26:
            start = start.replace(" (default)", "")
        rows: list[tuple[str, str]] = [
            ("backend", choices.backend),
            ("start", start),
            ("mode", choices.mode if choices.backend != "sequential" else "—"),
        ]
        if choices.rounds > 1:
            rows.append(("rounds", str(choices.rounds)))
        for name, value in rows:
            fixed.append(f"{name:<10}", style="dim")
            fixed.append(f"{value}\n", style="bold")
        fixed.rstrip()
        self.query_one("#fixed", Static).update(fixed)
        values: dict[str, Any] = {
            "workers": choices.workers_label(),
            "chunksize": choices.chunksize or "default",
            "tasks": choices.tasks or "default",
        }
        for field, value in values.items():
            box = self.query_one(f"#edit-{field}", Input)
            if not box.has_focus:
                box.value = str(value)
        self._show_params(choices)

    def _show_params(self, choices: Choices) -> None:
        params = choices.workload_params()
        names = tuple(p.name for p in params)
        holder = self.query_one("#params", Vertical)
        if names != self._param_names:
            self._param_names = names
            holder.remove_children()
            for param in params:
                row = Horizontal(classes="row")
                holder.mount(row)
                row.mount(Label(param.name, classes="name"))
                row.mount(Input(id=f"edit-{param.name}", compact=True, select_on_focus=True))
            # New boxes take their values once mounted: from the choices shown last by then.
            self.call_after_refresh(self._fill_params)
        else:
            self._fill_params()

    def _fill_params(self) -> None:
        choices = self.choices
        for param in choices.workload_params():
            boxes = self.query(f"#edit-{param.name}").results(Input)
            for box in boxes:
                if not box.has_focus:
                    value = choices.param(param.name)
                    box.value = ", ".join(value) if isinstance(value, list) else str(value)

    def edit(self) -> None:
        """Put the cursor in the first number (workers)."""
        self.query_one("#edit-workers", Input).focus()

    def action_field(self, step: int) -> None:
        """The next (or previous) number in the panel, round and round."""
        boxes = [box for box in self.query(Input) if box.display]
        if not boxes:
            return
        focused = next((i for i, box in enumerate(boxes) if box.has_focus), -step)
        boxes[(focused + step) % len(boxes)].focus()

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def problem(self, text: str) -> None:
        """Show (or clear) the reason a value was refused."""
        self.query_one("#problem", Label).update(Text(visible(text)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._changed(event.input)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        event.stop()
        self._changed(event.input)

    def _changed(self, box: Input) -> None:
        if box.id and box.id.startswith("edit-"):
            self.post_message(self.Changed(box.id.removeprefix("edit-"), box.value))
