"""The timeline of a case: pure series from observation records, and the chart drawn from them."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.dates as mdates
from babel import Locale
from babel.dates import format_skeleton, format_time
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from promowatch.evidence.recompute import store_intervals
from promowatch.report.texts import label
from promowatch.rules import Crawl, Thresholds
from promowatch.rules.stores import StoreSample, store_samples


@contextmanager
def literal_text() -> Iterator[None]:
    """Draw every string as written. Store names and titles come from the shop: "was $5 now only $10" must not
    become mathtext, nor "$\\bar{$" a parse error that stops the export."""
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        yield


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True, slots=True)
class OfferPoint:
    at: datetime
    observation_id: int
    price: Decimal | None
    regular_price: Decimal | None
    availability: str
    orderable: bool | None


@dataclass(frozen=True, slots=True)
class StoreRow:
    """One store observation (an interval's first look) as the CSV lists it."""

    at: datetime
    observation_id: int
    store_id: int
    availability: str
    quantity: int | None


@dataclass
class Timeline:
    advertised_price: Decimal
    reference_price: Decimal | None
    currency: str
    window: tuple[datetime | None, datetime | None]
    offers: list[OfferPoint] = field(default_factory=list)
    stores: list[StoreRow] = field(default_factory=list)
    # one figure per crawl, computed by the store rules' own sampling (so chart, headline and rule agree)
    shares: list[StoreSample] = field(default_factory=list)


def build_timeline(
    observations: Iterable[Mapping[str, Any]],
    promotion: Mapping[str, Any],
    *,
    scope: Collection[int] | None = None,
    crawls: Sequence[Crawl] | None = None,
    thresholds: Thresholds | None = None,
) -> Timeline:
    """Series from ``observations.jsonl`` lines: offer points, store rows, and per crawl the share of the stores
    in ``scope`` (all stores seen when None) at zero stock, sampled as the store rules sample it."""
    # the window the rules counted in (the finding's inputs say it: from the later of the start and the first
    # sighting), else the promotion's stated validity
    counted = promotion.get("window") or {}
    window_from = max(filter(None, (counted.get("start"), counted.get("first_seen"))), default=None)
    window_from = window_from or promotion.get("valid_from")
    window_until = counted.get("end") or promotion.get("valid_until")
    timeline = Timeline(
        advertised_price=Decimal(promotion["advertised_price"]),
        reference_price=_decimal(promotion.get("reference_price")),
        currency=promotion["currency"],
        window=(
            parse_time(window_from) if window_from else None,
            parse_time(window_until) if window_until else None,
        ),
    )
    lines = list(observations)
    for line in lines:
        record = line["record"]
        if line["kind"] == "offer":
            timeline.offers.append(
                OfferPoint(
                    parse_time(record["observed_at"]),
                    record["id"],
                    _decimal(record["price"]),
                    _decimal(record["regular_price"]),
                    record["availability"],
                    record["orderable"],
                )
            )
        elif line["kind"] == "store":
            timeline.stores.append(
                StoreRow(
                    parse_time(record["first_seen"]),
                    record["id"],
                    record["store_id"],
                    record["availability"],
                    record["quantity"],
                )
            )
    timeline.offers.sort(key=lambda p: (p.at, p.observation_id))
    timeline.stores.sort(key=lambda s: (s.at, s.observation_id))
    # the same intervals case verify recomputes the finding from
    intervals = store_intervals(lines)
    if intervals:
        until = max(i.last_seen for i in intervals)
        stores = scope if scope is not None else {i.store_id for i in intervals}
        timeline.shares = store_samples(intervals, stores, thresholds or Thresholds(), until, crawls)
    return timeline


def max_zero_share(timeline: Timeline) -> float | None:
    """The largest per-crawl share of stores at zero stock inside the promotion window (whole series without)."""
    start, end = timeline.window
    shares = [
        s.share
        for s in timeline.shares
        if s.share is not None and (start is None or s.at >= start) and (end is None or s.at <= end)
    ]
    return round(max(shares), 4) if shares else None


CSV_COLUMNS = [
    "time",
    "channel",
    "observation_id",
    "price",
    "reference_price",
    "availability",
    "orderable",
    "store_id",
    "quantity",
    "stores_zero",
    "stores_known",
    "stores_zero_share",
]


def timeline_csv(timeline: Timeline) -> str:
    """One row per offer observation and per store observation, and per crawl the share of stores at zero
    stock (channel ``stores``), in time order."""
    rows: list[tuple[datetime, int, list[Any]]] = []
    for p in timeline.offers:
        orderable = "" if p.orderable is None else str(p.orderable).lower()
        rows.append(
            (
                p.at,
                0,
                [
                    p.at,
                    "online",
                    p.observation_id,
                    p.price,
                    p.regular_price,
                    p.availability,
                    orderable,
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
            )
        )
    for s in timeline.stores:
        quantity = "" if s.quantity is None else s.quantity
        rows.append(
            (
                s.at,
                1,
                [
                    s.at,
                    "store",
                    s.observation_id,
                    "",
                    "",
                    s.availability,
                    "",
                    s.store_id,
                    quantity,
                    "",
                    "",
                    "",
                ],
            )
        )
    for sample in timeline.shares:
        share = "" if sample.share is None else f"{sample.share:.4f}"
        rows.append(
            (
                sample.at,
                2,
                [sample.at, "stores", "", "", "", "", "", "", "", sample.zero, sample.known, share],
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for _, _, values in rows:
        values[0] = values[0].strftime("%Y-%m-%dT%H:%M:%SZ")
        writer.writerow(["" if v is None else v for v in values])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class FindingMark:
    """A finding's moments on the chart: raised, confirmed, closed."""

    rule: str
    opened_at: datetime | None
    confirmed_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ChartLabels:
    """What the chart says beyond the series: its title, the zone of its dates, the findings' marks and the
    store rule's threshold (a share, 0..1)."""

    title: str | None = None
    zone: str = "UTC"
    marks: Sequence[FindingMark] = ()
    rules: Sequence[str] = ()
    share_threshold: float | None = None


def _shade_window(ax: Any, timeline: Timeline, first: datetime, last: datetime) -> None:
    start, end = timeline.window
    if start is None and end is None:
        return
    # only the part the data cover: a week's validity must not squeeze twelve hours of data into a sliver
    left, right = max(start or first, first), min(end or last, last)
    if left < right:
        ax.axvspan(left, right, color="#f6d55c", alpha=0.25, lw=0)


def date_formatter(language: str, zone: str, span: timedelta) -> FuncFormatter:
    """Tick labels in the case's language and the retailer's zone: "5 nov." in French, never "2026-Nov"."""
    tz = ZoneInfo(zone)
    locale = Locale.parse(language)
    with_hours = span <= timedelta(days=2)
    # the layout asks for the same ticks' labels many times; Babel's formatting is not cheap
    labels: dict[float, str] = {}

    def label_of(value: float, _position: int | None = None) -> str:
        if value not in labels:
            moment = mdates.num2date(value).astimezone(tz)
            day = format_skeleton("dMMM", moment, locale=locale)
            labels[value] = f"{day} {format_time(moment, 'short', locale=locale)}" if with_hours else day
        return labels[value]

    return FuncFormatter(label_of)


def draw_timeline(fig: Figure, timeline: Timeline, language: str, chart: ChartLabels | None = None) -> None:
    """Three panels on one time axis: price, orderable online, share of stores at zero stock."""
    with literal_text():
        _draw_timeline(fig, timeline, language, chart or ChartLabels())


_MARK_STYLE = {"opened": ("#d62728", "-"), "confirmed": ("#ff7f0e", "--"), "closed": ("#2ca02c", ":")}


def _draw_marks(
    axes: Sequence[Any], chart: ChartLabels, language: str, first: datetime, last: datetime
) -> None:
    labelled: set[str] = set()
    for mark in chart.marks:
        for name, at in (
            ("opened", mark.opened_at),
            ("confirmed", mark.confirmed_at),
            ("closed", mark.closed_at),
        ):
            if at is None or not first <= at <= last:
                continue
            colour, style = _MARK_STYLE[name]
            for ax in axes:
                ax.axvline(at, color=colour, ls=style, lw=1, zorder=4)
            if name not in labelled:
                labelled.add(name)
                axes[0].plot([], [], color=colour, ls=style, lw=1, label=label("mark_" + name, language))


def _draw_timeline(fig: Figure, timeline: Timeline, language: str, chart: ChartLabels) -> None:
    # the axis spans the data, not the validity window: the window is shaded where the data reach it
    times = [p.at for p in timeline.offers] + [s.at for s in timeline.shares]
    if not times:
        fig.text(0.5, 0.5, label("no_data", language), ha="center")
        return
    first, last = min(times), max(times)
    if first == last:
        first, last = first - timedelta(hours=12), last + timedelta(hours=12)
    price_ax, band_ax, store_ax = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1, 2]})
    for ax in (price_ax, band_ax, store_ax):
        _shade_window(ax, timeline, first, last)
    priced = [p for p in timeline.offers if p.price is not None]
    if priced:
        price_ax.step(
            [p.at for p in priced],
            [float(p.price or 0) for p in priced],
            where="post",
            color="#1f77b4",
            lw=2,
            zorder=3,  # over the advertised line, which it often equals
            label=label("observed_price", language),
        )
        # one marker per observation: the price is known where it was looked at, not in between
        price_ax.plot(
            [p.at for p in priced], [float(p.price or 0) for p in priced], "o", color="#1f77b4", ms=3
        )
    price_ax.axhline(
        float(timeline.advertised_price),
        color="#d62728",
        ls="--",
        label=f"{label('advertised_price', language)} {timeline.advertised_price}",
    )
    if timeline.reference_price is not None:
        price_ax.axhline(
            float(timeline.reference_price),
            color="#7f7f7f",
            ls=":",
            label=f"{label('reference_price', language)} {timeline.reference_price}",
        )
    price_ax.set_ylabel(timeline.currency, parse_math=False)
    _draw_marks((price_ax, band_ax, store_ax), chart, language, first, last)
    price_ax.legend(loc="best", fontsize=6)
    price_ax.set_title(chart.title or label("chart_title", language), fontsize=9)

    colours = {True: "#2ca02c", False: "#d62728", None: "#c7c7c7"}
    gaps = sorted(b.at - a.at for a, b in zip(timeline.offers, timeline.offers[1:], strict=False))
    # the last observation is drawn as wide as a typical gap, not stretched to the end of the axis
    last_width = gaps[len(gaps) // 2] if gaps else timedelta(hours=1)
    for value in (True, False, None):
        spans = []
        for i, p in enumerate(timeline.offers):
            if p.orderable is value:
                end = timeline.offers[i + 1].at if i + 1 < len(timeline.offers) else p.at + last_width
                start_num = mdates.date2num(p.at)
                spans.append((start_num, max(mdates.date2num(end) - start_num, 1e-4)))
        if spans:
            band_ax.broken_barh(
                spans, (0, 1), color=colours[value], label=label(f"orderable_{value}".lower(), language)
            )
    if timeline.offers:
        band_ax.plot([p.at for p in timeline.offers], [0.5] * len(timeline.offers), "|", color="#222", ms=6)
    band_ax.set_yticks([])
    band_ax.set_ylabel(label("orderable", language), fontsize=7)
    band_ax.legend(loc="upper right", fontsize=6, ncol=3)

    shares = [s for s in timeline.shares if s.share is not None]
    if shares:
        # one marker per crawl: the share is measured at crawls, not in between
        xs, ys = [s.at for s in shares], [100 * (s.share or 0) for s in shares]
        store_ax.step(xs, ys, where="post", color="#9467bd", lw=2)
        store_ax.plot(xs, ys, "o", color="#9467bd", ms=3)
    if chart.share_threshold is not None:
        store_ax.axhline(
            100 * chart.share_threshold,
            color="#8c564b",
            ls="--",
            lw=1,
            label=f"{label('threshold', language)} {100 * chart.share_threshold:.0f} %",
        )
        store_ax.legend(loc="lower right", fontsize=6)
    store_ax.set_ylim(-5, 105)
    store_ax.set_ylabel(label("stores_zero", language), fontsize=7)
    # ticks at the retailer's midnights, as its calendar days are read
    store_ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=ZoneInfo(chart.zone), minticks=3, maxticks=8))
    store_ax.xaxis.set_major_formatter(date_formatter(language, chart.zone, last - first))
    store_ax.set_xlabel(chart.zone, fontsize=6)
    for ax in (price_ax, band_ax, store_ax):
        ax.tick_params(labelsize=6)
    store_ax.set_xlim(mdates.date2num(first), mdates.date2num(last))


# print resolution at the width of an A4 page's text block (170 mm)
PRINT_DPI = 300
PRINT_SIZE = (6.7, 4.6)


def render_timeline_png(timeline: Timeline, language: str, chart: ChartLabels | None = None) -> bytes:
    """The chart as PNG bytes at print resolution."""
    fig = Figure(figsize=PRINT_SIZE, dpi=PRINT_DPI, layout="constrained")
    draw_timeline(fig, timeline, language, chart)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=PRINT_DPI, metadata={"Software": None})
    return out.getvalue()


def write_timeline_png(timeline: Timeline, language: str, path: Path) -> None:
    path.write_bytes(render_timeline_png(timeline, language))
