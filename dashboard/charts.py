"""Lay out bar charts as SVG geometry, on the server: no JavaScript, no CDN.

Pure: no database, no Django. The templates draw what these functions
compute (`dashboard/_column_chart.html`), and Django's autoescaping covers
every label and tooltip. Known limit: labels are laid out for the chart's
own width (its viewBox); on a phone the drawing scales down, so each chart
also has its numbers as a table.
"""

import math
from dataclasses import dataclass, field

# viewBox sizes: a chart in a half-width card, and one across the page (text stays ~12 px).
WIDTH, WIDE, HEIGHT = 560, 1120, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Series:
    """One kind of value in a chart: its key (the CSS class) and its name in the legend."""

    key: str
    label: str


@dataclass(frozen=True)
class Column:
    """One column: its axis label, its tooltip and one value per series (stacked)."""

    label: str
    title: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str

    @property
    def geometry(self) -> str:
        """Return the rect's position and size as attributes, in one string for the template.

        Unquoted (HTML allows it for values without spaces or quotes): the
        text is digits, dots and names only, so autoescaping leaves it as is.
        A 90-day chart has 270 bars; four template lookups and filters each
        were a third of the charts page's time (issue 4).
        """
        return (
            f"x={svg_number(self.x)} y={svg_number(self.y)}"
            f" width={svg_number(self.width)} height={svg_number(self.height)}"
        )


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    label: str


@dataclass(frozen=True)
class ColumnChart:
    """Everything the template draws; `total` 0 means "nothing to show"."""

    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_bottom: float
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[AxisLabel]
    series: tuple[Series, ...]
    columns: list[Column] = field(repr=False)
    total: int = 0


def svg_number(value: float) -> str:
    """Return a coordinate for an SVG attribute, never localised ("12.5", not "12,5")."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_step(maximum: float, *, ticks: int = 4) -> int:
    """Return a round gridline step (1, 2 or 5 times a power of ten) for values up to `maximum`."""
    if maximum <= ticks:
        return 1
    rough = maximum / ticks
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if rough <= factor * power:
            return int(factor * power)
    return int(10 * power)


def compact_number(value: int) -> str:
    """Return 1234 as "1.2k" and 2500000 as "2.5M", for axis labels."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    return str(value)


def column_chart(
    columns: list[Column],
    *,
    series: tuple[Series, ...],
    label_every: int = 1,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> ColumnChart:
    """Lay out stacked columns, gridlines and every `label_every`-th axis label."""
    plot_left, plot_right = LEFT, width - RIGHT
    plot_top, plot_bottom = TOP, height - BOTTOM
    tallest = max((sum(column.values) for column in columns), default=0)
    step = nice_step(tallest)
    top_value = max(step, math.ceil(tallest / step) * step)
    scale = (plot_bottom - plot_top) / top_value
    slot = (plot_right - plot_left) / max(len(columns), 1)
    gap = min(slot * 0.2, 6)
    bars: list[Bar] = []
    labels: list[AxisLabel] = []
    for index, column in enumerate(columns):
        x = plot_left + index * slot + gap / 2
        base = plot_bottom
        for value, kind in zip(column.values, series, strict=True):
            if value <= 0:
                continue
            bar_height = value * scale
            base -= bar_height
            bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(max(slot - gap, 1), 2),
                    height=round(bar_height, 2),
                    series=kind.key,
                    title=f"{column.title}: {value:,} {kind.label.lower()}",
                )
            )
        if index % label_every == 0:
            labels.append(AxisLabel(x=round(x + (slot - gap) / 2, 2), label=column.label))
    ticks = [
        Tick(y=round(plot_bottom - value * scale, 2), label=compact_number(value))
        for value in range(0, top_value + 1, step)
    ]
    return ColumnChart(
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_bottom=plot_bottom,
        bars=bars,
        ticks=ticks,
        labels=labels,
        series=series,
        columns=columns,
        total=sum(sum(column.values) for column in columns),
    )


@dataclass(frozen=True)
class Share:
    """One row of a ranked list: its label, its value and its length as a percentage of the top."""

    label: str
    value: int
    percent: float


def ranked(items: list[tuple[str, int]]) -> list[Share]:
    """Return ranked (label, value) pairs with bar lengths relative to the largest."""
    top = max((value for _, value in items), default=0)
    return [
        Share(label=label, value=value, percent=round(100 * value / top, 1) if top else 0.0)
        for label, value in items
    ]
