"""Small server-rendered SVG charts: geometry here, markup in templates/_bar_chart.html (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float  # in per cent of the plot width


@dataclass(frozen=True)
class BarChart:
    title: str
    unit_label: str
    bars: list[Bar]
    row_height: int
    height: int

    @property
    def summary(self) -> str:
        """The whole chart as one sentence, for screen readers (the table beside it has the same figures).

        Title, labels and unit come translated from the caller; only the separator is translated here.
        """
        return _("；").join(f"{b.label} {b.value} {self.unit_label}" for b in self.bars)


def bar_chart(values: list[tuple[str, int]], *, title: str, unit_label: str, row_height: int = 28) -> BarChart:
    """Horizontal bars, one row per (label, value), scaled to the largest value."""
    top = max((v for _, v in values), default=0) or 1
    bars = [Bar(label, value, i * row_height, 100.0 * value / top) for i, (label, value) in enumerate(values)]
    return BarChart(title, unit_label, bars, row_height, max(1, len(bars)) * row_height)
