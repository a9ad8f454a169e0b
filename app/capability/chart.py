"""Geometry for the capability chart, drawn as inline SVG by the template.

Readable without colour: the requirement is an outlined box, the validated level a solid
bar inside it, the self-rating a diamond marker, and each row ends with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.framework.scale import LEVELS, MAX_LEVEL

LABEL_W = 64
UNIT = 44  # pixels per level
ROW_H = 26
TOP = 28


@dataclass(frozen=True)
class ChartBar:
    """One competency on the chart: what the roles require, the validated level, and the
    person's own view (None when they gave none)."""

    code: str
    name: str
    required: int
    current: int
    self_level: int | None


@dataclass(frozen=True)
class ChartRow:
    code: str
    name: str
    y: int
    text_y: int
    required_w: int
    current_w: int
    self_x: int | None
    summary: str
    short: bool
    bar_y: int
    marker_y: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: list[ChartRow]
    ticks: list[tuple[int, int]]  # (x, level)
    label_w: int
    bar_h: int
    value_x: int
    inner_h: int
    axis_end: int


def bar_chart(bars: list[ChartBar]) -> Chart:
    rows = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_H
        summary = f"{bar.current} of {bar.required}"
        if bar.self_level is not None:
            summary += f" · self {bar.self_level}"
        rows.append(
            ChartRow(
                code=bar.code,
                name=bar.name,
                y=y,
                text_y=y + 14,
                required_w=bar.required * UNIT,
                current_w=bar.current * UNIT,
                self_x=LABEL_W + bar.self_level * UNIT if bar.self_level is not None else None,
                summary=summary,
                short=bar.current < bar.required,
                bar_y=y + 4,
                marker_y=y + 1,
            )
        )
    return Chart(
        width=LABEL_W + MAX_LEVEL * UNIT + 120,
        height=TOP + len(bars) * ROW_H + 8,
        rows=rows,
        ticks=[(LABEL_W + n * UNIT, n) for n in LEVELS],
        label_w=LABEL_W,
        bar_h=ROW_H - 8,
        value_x=LABEL_W + MAX_LEVEL * UNIT + 10,
        inner_h=ROW_H - 16,
        axis_end=TOP + len(bars) * ROW_H + 2,
    )
