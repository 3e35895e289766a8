"""The CPU pane's renderers: bars, the braille load graph and how the pane fits its graphs."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from tui.render import cpu
from tui.render.cpu import Load, Run

# Unicode numbers braille dots 1-2-3-7 down the left column and 4-5-6-8 down the right; dot n is
# bit n-1 above U+2800. Listed bottom first, as the graph fills them.
LEFT = (7, 3, 2, 1)
RIGHT = (8, 6, 5, 4)


def text(row: list[Run]) -> str:
    return "".join(run.text for run in row)


def column_heights(rows: list[list[Run]]) -> list[int]:
    """How many dots high each dot column stands, read back from the characters drawn."""
    lines = [text(row) for row in rows]
    heights = [0] * (2 * len(lines[0]))
    for level, line in enumerate(reversed(lines)):  # bottom row first
        for cell, char in enumerate(line):
            bits = ord(char) - 0x2800 if char != " " else 0
            for side, dots in enumerate((LEFT, RIGHT)):
                filled = [bool(bits & (1 << (dot - 1))) for dot in dots]
                # An area graph: the dots of a column are filled from the bottom, no gaps.
                assert filled == sorted(filled, reverse=True), repr(char)
                if any(filled):  # and a dot in an upper cell rests on a full cell below
                    assert heights[2 * cell + side] == 4 * level
                heights[2 * cell + side] += sum(filled)
    return heights


def test_a_rising_series_draws_rising_dots() -> None:
    values = [i * 100 / 15 for i in range(16)]  # 0 % to 100 % in 16 readings
    rows = cpu.graph(values, 8, rows=2)
    heights = column_heights(rows)
    assert heights == sorted(heights)
    assert heights[0] == 0 and heights[-1] == 8
    assert len(set(heights)) == 9  # every one of the eight levels, and blank, is reached


def test_idle_draws_nothing_not_a_line_of_blocks() -> None:
    rows = cpu.graph([0.0] * 40, 10, rows=2)
    assert [text(row) for row in rows] == [" " * 10, " " * 10]
    assert all(run.load is None for row in rows for run in row)


def test_full_load_fills_every_cell_in_the_high_colour() -> None:
    rows = cpu.graph([100.0] * 40, 6, rows=2)
    assert [text(row) for row in rows] == ["⣿" * 6, "⣿" * 6]
    assert rows == [[Run("⣿" * 6, Load.HIGH)]] * 2


def test_two_rows_give_eight_levels_and_one_row_four() -> None:
    assert column_heights(cpu.graph([50.0, 50.0], 1, rows=2)) == [4, 4]
    assert column_heights(cpu.graph([50.0, 50.0], 1, rows=1)) == [2, 2]
    assert column_heights(cpu.graph([12.5, 87.5], 1, rows=2)) == [1, 7]


def test_the_newest_reading_is_on_the_right_and_missing_ones_are_blank() -> None:
    assert text(cpu.graph([100.0], 3, rows=1)[0]) == "  ⢸"
    assert text(cpu.graph([100.0, None], 3, rows=1)[0]) == "  ⡇"
    assert text(cpu.graph([], 3, rows=1)[0]) == "   "


def test_only_the_newest_readings_that_fit_are_drawn() -> None:
    old_then_busy = [0.0] * 50 + [100.0] * 4
    assert text(cpu.graph(old_then_busy, 2, rows=1)[0]) == "⣿⣿"


@pytest.mark.parametrize("width", [1, 4, 9, 18, 22])
@pytest.mark.parametrize("count", [0, 1, 7, 200])
def test_rows_are_exactly_the_width_asked_for(width: int, count: int) -> None:
    values = [(i * 37) % 101 for i in range(count)]
    rows = cpu.graph(values, width, rows=2)
    assert len(rows) == 2
    console = Console(file=io.StringIO(), width=80, color_system=None, legacy_windows=False)
    for row in rows:
        console.print(Text.assemble(*(run.text for run in row)), end="|\n")
        assert cell_len(text(row)) == width
    printed = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [cell_len(line) for line in printed] == [width + 1] * 2  # the braille is one cell each


def test_no_room_draws_no_rows() -> None:
    assert cpu.graph([50.0], 0) == []
    assert cpu.graph([50.0], 5, rows=0) == []


def test_a_cell_takes_the_colour_of_its_busier_reading() -> None:
    # Two readings share a cell: a spike to 95 % must not hide behind a quiet neighbour.
    rows = cpu.graph([10.0, 95.0, 30.0, 60.0, 20.0, 20.0], 3, rows=2)
    bottom = rows[-1]
    assert [run.load for run in bottom] == [Load.HIGH, Load.MID, Load.LOW]
    # A column has one colour from the bottom up; blank cells carry none.
    assert [run.load for run in rows[0]] == [Load.HIGH, Load.MID, None]


def test_neighbouring_cells_of_one_colour_are_one_run() -> None:
    rows = cpu.graph([20.0] * 10 + [70.0] * 10, 10, rows=1)
    assert [run.load for run in rows[0]] == [Load.LOW, Load.MID]


@pytest.mark.parametrize(
    ("percent", "band"),
    [(0, Load.LOW), (49.9, Load.LOW), (50, Load.MID), (89.9, Load.MID), (90, Load.HIGH)],
)
def test_load_bands_are_the_bars_thresholds(percent: float, band: Load) -> None:
    assert cpu.load(percent) is band


def test_bars_fill_to_the_percentage_within_their_width() -> None:
    assert cpu.bar(0, 5) == " " * 5
    assert cpu.bar(100, 5) == "█" * 5
    assert cpu.bar(50, 3) == "█▌ "
    assert cpu.bar(150, 4) == "█" * 4
    assert cpu.bar(50, 0) == ""


@pytest.mark.parametrize(
    ("cores", "height", "rows"),
    [
        (2, 21, (2, 2)),  # this machine at 80×24: eight-level graphs everywhere
        (2, 37, (2, 2)),
        (16, 37, (1, 2)),  # 16 cores at 120×40: one-row graphs
        (16, 21, (0, 2)),  # 16 cores at 80×24: bars, and the total's graph
        (64, 37, (0, 0)),  # too many to fit anyway: bars only
        (2, 0, (0, 0)),
    ],
)
def test_graphs_give_way_to_bars_when_cores_need_the_room(
    cores: int, height: int, rows: tuple[int, int]
) -> None:
    assert cpu.rows_per_graph(cores, height) == rows


@pytest.mark.parametrize("cores", [1, 2, 4, 8, 16, 32])
def test_the_height_a_choice_needs_leads_to_the_same_choice(cores: int) -> None:
    # The pane asks for the height its graphs need, then draws in the height it was given.
    for available in range(60):
        per_core, total = cpu.rows_per_graph(cores, available)
        needed = cpu.lines_needed(cores, per_core, total)
        assert needed <= available or (per_core, total) == (0, 0)
        assert cpu.rows_per_graph(cores, needed) == (per_core, total)
