"""A small line chart of an indicator over the strategy period, as inline SVG computed here on the server: no
script, no CDN, it prints as it shows. Targets are a dashed line with hollow marks, official actuals a solid
line with filled points, the baseline a grey point; the y axis spans the values shown."""

from dataclasses import dataclass

from service.reports.implementation import Point, Series

WIDTH, HEIGHT = 220, 64
PAD_X, PAD_TOP, PAD_BOTTOM = 10, 8, 14


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    year: int
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    targets: list[Mark]
    actuals: list[Mark]
    baseline: Mark | None
    first_year: int
    last_year: int
    first_x: float
    last_x: float
    axis_y: float

    @staticmethod
    def path(marks: list[Mark]) -> str:
        return " ".join(f"{m.x:.1f},{m.y:.1f}" for m in marks)


def chart(series: Series) -> Chart:
    points = [*series.targets, *series.actuals, *([series.baseline] if series.baseline else [])]
    low, high = min(p.value for p in points), max(p.value for p in points)
    if high == low:  # a flat series is drawn across the middle
        low, high = low - 1, high + 1
    span_years = max(len(series.years) - 1, 1)
    first = series.years[0]

    def mark(point: Point) -> Mark:
        x = PAD_X + (point.year - first) * (WIDTH - 2 * PAD_X) / span_years
        y = PAD_TOP + (high - point.value) * (HEIGHT - PAD_TOP - PAD_BOTTOM) / (high - low)
        return Mark(round(x, 1), round(y, 1), point.year, point.text)

    return Chart(
        WIDTH, HEIGHT, [mark(p) for p in series.targets], [mark(p) for p in series.actuals],
        mark(series.baseline) if series.baseline else None, first, series.years[-1], PAD_X, WIDTH - PAD_X,
        HEIGHT - PAD_BOTTOM + 2,
    )  # fmt: skip
