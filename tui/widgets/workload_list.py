"""Provides the workload list: every workload with its one-line summary."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from workloads.catalog import WORKLOADS


class WorkloadList(OptionList):
    """Pick a workload: arrows move, enter (or a click) chooses."""

    DEFAULT_CSS = """
    WorkloadList { height: auto; max-height: 9; border: none; padding: 0; background: transparent; }
    WorkloadList:focus { border: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        options = []
        for workload in WORKLOADS.values():
            options.append(Option(Text(workload.name), id=workload.name))
        super().__init__(*options, id=id)

    def select_name(self, name: str) -> None:
        """Highlight ``name`` without announcing a choice."""
        names = list(WORKLOADS)
        self.highlighted = names.index(name) if name in names else None
