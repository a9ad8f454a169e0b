"""Geometry for the capability chart, drawn as inline SVG by the template.

Readable without colour: the requirement is an outlined box, the validated level a solid
bar inside it (lighter while it is short of the requirement), the self-rating a diamond
marker, the target role's requirement a dashed line, and each row ends with the numbers.
Each row is named by the competency's code and name, on a line above its bar.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.framework.scale import LEVELS, MAX_LEVEL

LABEL_W = 8  # the bars start here; the row's name is written above its bar
UNIT = 44  # pixels per level
ROW_H = 40
TOP = 20
NAME_H = 14  # the line the row's name is written on
NAME_CHARS = 54  # longer names are shortened (the full name is in the row's tooltip)


@dataclass(frozen=True)
class ChartBar:
    """One competency on the chart: what the roles require, the validated level, and the
    person's own view (None when they gave none)."""

    code: str
    name: str
    required: int
    current: int
    self_level: int | None
    #: the highest level the target roles require (None when there is no target role)
    target: int | None = None


@dataclass(frozen=True)
class ChartRow:
    code: str
    name: str
    label: str  # code and name, shortened to fit above the bar
    label_y: int
    target_x: int | None
    target_gap: int
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
    has_target: bool = False


def bar_chart(bars: list[ChartBar]) -> Chart:
    rows = []
    for i, bar in enumerate(bars):
        top = TOP + i * ROW_H
        y = top + NAME_H
        summary = f"{bar.current} of {bar.required}"
        if bar.target is not None:
            summary += f" · target {bar.target}"
        if bar.self_level is not None:
            summary += f" · self {bar.self_level}"
        label = f"{bar.code} {bar.name}"
        if len(label) > NAME_CHARS:
            label = label[: NAME_CHARS - 1].rstrip() + "…"
        rows.append(
            ChartRow(
                code=bar.code,
                name=bar.name,
                label=label,
                label_y=top + 10,
                target_x=LABEL_W + bar.target * UNIT if bar.target is not None else None,
                target_gap=max((bar.target or 0) - bar.current, 0),
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
        width=LABEL_W + MAX_LEVEL * UNIT + 170,
        height=TOP + len(bars) * ROW_H + 4,
        rows=rows,
        ticks=[(LABEL_W + n * UNIT, n) for n in LEVELS],
        label_w=LABEL_W,
        bar_h=ROW_H - NAME_H - 8,
        value_x=LABEL_W + MAX_LEVEL * UNIT + 10,
        inner_h=ROW_H - NAME_H - 16,
        axis_end=TOP + len(bars) * ROW_H,
        has_target=any(bar.target is not None for bar in bars),
    )
