"""Provides the workload list: every workload, and the user's own function when given."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from workloads.catalog import TARGET, WORKLOADS


class WorkloadList(OptionList):
    """Pick a workload: arrows move, enter (or a click) chooses."""

    DEFAULT_CSS = """
    WorkloadList { height: auto; max-height: 10; border: none; padding: 0; background: transparent; }
    WorkloadList:focus { border: none; }
    """

    def __init__(self, target: str | None = None, *, id: str | None = None) -> None:  # noqa: A002
        """``target``: the user's ``module:function``, listed first as "your function"."""
        options = []
        self._names: list[str] = []
        if target:
            name = target.rpartition(":")[2]
            options.append(Option(Text.assemble((name, "bold"), " (yours)"), id=TARGET))
            self._names.append(TARGET)
        for workload in WORKLOADS.values():
            options.append(Option(Text(workload.name), id=workload.name))
            self._names.append(workload.name)
        super().__init__(*options, id=id)

    def select_name(self, name: str) -> None:
        """Highlight ``name`` without announcing a choice."""
        self.highlighted = self._names.index(name) if name in self._names else None
