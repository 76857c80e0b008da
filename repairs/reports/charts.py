"""Charts drawn on the server as inline SVG: they print, need no script, and say what they show in words.

Each chart is an `<svg role="img">` labelled by its own `<title>` and `<desc>`; the description lists every
value, so a screen reader user hears the data, not "image". Values are also written next to each bar or
point, so the chart reads in black and white and without colour vision. The page puts a table of the same
figures beside each chart for anyone who wants the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
BAR_HEIGHT = 22
BAR_GAP = 8
CHAR_WIDTH = 7.6  # an average character at 13px in a system sans-serif, generously
MIN_LABEL_WIDTH, MAX_LABEL_WIDTH = 60, 260
VALUE_ROOM = 90  # room right of the longest bar for its value
BAR_COLOUR = "#1d4f91"  # dark enough to print and to hold white or black text beside it
LINE_COLOUR = "#1d4f91"
AXIS_COLOUR = "#505a5f"
TEXT_COLOUR = "#0b0c0c"
FONT = 'font-family="system-ui, sans-serif" font-size="13"'


def thousands(value: float) -> str:
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float


def _svg(parts: list[str]) -> Markup:
    # Safe: every label, value and title above went through escape(); numbers and constants are ours.
    return Markup("".join(parts))  # noqa: S704


def _header(chart_id: str, title: str, description: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>'
    )


def _describe(items: Sequence[tuple[str, str]], empty: str) -> str:
    return "; ".join(f"{label}: {value}" for label, value in items) + "." if items else empty


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    fmt: Callable[[float], str] = thousands,
    max_value: float | None = None,
    empty: str = "Nothing to show for this period.",
) -> Markup:
    """Horizontal bars, one a row, the label on the left and the value at the bar's end."""
    rows = max(len(bars), 1)
    height = 16 + rows * (BAR_HEIGHT + BAR_GAP)
    description = _describe([(b.label, fmt(b.value)) for b in bars], empty)
    parts = [_header(chart_id, title, description, height)]
    top = max([max_value or 0.0, *(b.value for b in bars)]) or 1.0
    # Room for the longest label ("Kitchen, bathroom and joinery"), so none is cut off at the left edge.
    longest = max((len(b.label) for b in bars), default=0)
    label_width = min(max(MIN_LABEL_WIDTH, round(longest * CHAR_WIDTH) + 16), MAX_LABEL_WIDTH)
    room = WIDTH - label_width - VALUE_ROOM
    if not bars:
        parts.append(f'<text x="0" y="{BAR_HEIGHT}" {FONT} fill="{TEXT_COLOUR}">{escape(empty)}</text>')
    fits = int((label_width - 8) / CHAR_WIDTH)  # the text ends 8 units left of the bars
    for i, bar in enumerate(bars):
        # A label too long for the room is shortened here; the description keeps it whole.
        label = bar.label if len(bar.label) <= fits else bar.label[: fits - 1].rstrip() + "…"
        y = 8 + i * (BAR_HEIGHT + BAR_GAP)
        length = max(room * bar.value / top, 0.0)
        middle = y + BAR_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{label_width - 8}" y="{middle:.1f}" text-anchor="end" {FONT} fill="{TEXT_COLOUR}">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{middle:.1f}" {FONT} fill="{TEXT_COLOUR}">'
            f"{escape(fmt(bar.value))}</text>"
        )
    parts.append(
        f'<line x1="{label_width}" y1="4" x2="{label_width}" y2="{height - 4}" stroke="{AXIS_COLOUR}"/></svg>'
    )
    return _svg(parts)


def line_chart(
    chart_id: str,
    title: str,
    points: Sequence[Bar],
    *,
    fmt: Callable[[float], str] = thousands,
    empty: str = "Nothing to show for this period.",
) -> Markup:
    """A line through one point per label (weeks, say), each point marked and its value written above it."""
    height, left, right, top_pad, bottom_pad = 240, 16, 16, 28, 44
    description = _describe([(p.label, fmt(p.value)) for p in points], empty)
    parts = [_header(chart_id, title, description, height)]
    plot_h = height - top_pad - bottom_pad
    base = height - bottom_pad
    parts.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH - right}" y2="{base}" stroke="{AXIS_COLOUR}"/>')
    if not points:
        parts.append(f'<text x="{left}" y="{base - 8}" {FONT} fill="{TEXT_COLOUR}">{escape(empty)}</text></svg>')
        return _svg(parts)
    top = max(p.value for p in points) or 1.0
    step = (WIDTH - left - right) / len(points)
    coords = [(left + step * (i + 0.5), base - plot_h * p.value / top) for i, p in enumerate(points)]
    if len(coords) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2.5"/>')
    # Label every point when they fit; on a long period, every few, always including the last.
    every = max(1, round(len(points) / 12))
    for i, ((x, y), point) in enumerate(zip(coords, points, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE_COLOUR}"/>')
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle" {FONT} fill="{TEXT_COLOUR}">'
                f"{escape(fmt(point.value))}</text>"
                f'<text x="{x:.1f}" y="{base + 18}" text-anchor="middle" {FONT} fill="{TEXT_COLOUR}">'
                f"{escape(point.label)}</text>"
            )
    parts.append("</svg>")
    return _svg(parts)
