"""The readable case summary: one HTML page and a PDF with the same content."""

from __future__ import annotations

import html
import io
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from promowatch.report.texts import label, rule_statement
from promowatch.report.timeline import Timeline, draw_timeline, literal_text

MAX_TABLE_ROWS = 200


def _short_time(value: str | None) -> str:
    return "—" if not value else value[:16].replace("T", " ")


def finding_statement(case: Mapping[str, Any], language: str) -> str:
    """The neutral sentence of the finding, with its figures, in ``language``."""
    coverage = case["coverage"]
    finding = case["finding"]
    cited = finding.get("observation_ids") or {}
    max_share = case.get("figures", {}).get("max_store_zero_share")
    return rule_statement(
        finding["rule"],
        language,
        n_offer=str(len(cited.get("offer", []))),
        n_store=str(len(cited.get("store", []))),
        first=_short_time(coverage.get("cited_first")),
        last=_short_time(coverage.get("cited_last")),
        max_share="—" if max_share is None else f"{100 * max_share:.0f} %",
    )


def _fact_rows(case: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    promotion = case["promotion"]
    window = f"{_short_time(promotion.get('valid_from'))} – {_short_time(promotion.get('valid_until'))}"
    counted = (case["finding"].get("inputs") or {}).get("window")
    if counted:  # how the window the rule counted in was established, and from when it counted
        window = (
            f"{_short_time(counted['start'])} – {_short_time(counted['end'])} "
            f"({label('basis_' + counted['basis'], language)}; "
            f"{label('first_seen', language)} {_short_time(counted['first_seen'])})"
        )
    reference = promotion.get("reference_price")
    sources = ", ".join(sorted({s.get("source_url") or s.get("ad_kind") or "" for s in case["ad_sightings"]}))
    return [
        (label("retailer", language), promotion["retailer"]["name"]),
        (label("product", language), f"{promotion['title']} ({promotion['product']['url']})"),
        (label("advertised_price", language), f"{promotion['advertised_price']} {promotion['currency']}"),
        (
            label("reference_price", language),
            "—" if reference is None else f"{reference} {promotion['currency']}",
        ),
        (label("validity", language), window),
        (label("ad_sources", language), sources or "—"),
    ]


def _finding_rows(case: Mapping[str, Any], language: str) -> list[tuple[str, str]]:
    finding = case["finding"]
    rows = [
        (label("rule", language), finding["rule"]),
        (label("state", language), finding["state"]),
        (label("opened", language), _short_time(finding["opened_at"])),
    ]
    if finding.get("closed_at"):
        rows.append((label("closed", language), _short_time(finding["closed_at"])))
    return rows


def _coverage_rows(case: Mapping[str, Any], language: str) -> list[list[str]]:
    rows = []
    for channel in ("online", "stores", "ads"):
        c = case["coverage"][channel]
        share = c.get("unknown_share")
        rows.append(
            [
                label(channel, language),
                _short_time(c["first"]),
                _short_time(c["last"]),
                str(c["count"]),
                "—" if share is None else f"{100 * share:.1f} %",
            ]
        )
    return rows


def evidence_rows(observations: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The cited observations as table rows: time, observation, value, capture hash."""
    rows = []
    for line in observations:
        if not line.get("cited"):
            continue
        r = line["record"]
        if line["kind"] == "offer":
            at, value = r["observed_at"], f"{r['availability']}, orderable={r['orderable']}, {r['price']}"
        elif line["kind"] == "store":
            store = line.get("store") or {}
            at = r["first_seen"]
            value = f"{store.get('name', r['store_id'])}: {r['availability']} q={r['quantity']}"
        else:
            at, value = r["seen_at"], r.get("source_url") or r.get("ad_kind") or ""
        rows.append(
            [_short_time(at), f"{line['kind']} #{r['id']}", value, (r.get("evidence_sha256") or "—")[:16]]
        )
    rows.sort(key=lambda row: row[0])
    return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )


def render_html(
    case: Mapping[str, Any],
    observations: Sequence[Mapping[str, Any]],
    language: str,
    chart_file: str = "timeline.png",
) -> str:
    """The summary page; the chart is referenced as a file of the bundle."""
    ev = evidence_rows(observations)
    extra = len(ev) - MAX_TABLE_ROWS
    ev_header = [
        label("time", language),
        label("observation", language),
        label("value", language),
        label("capture", language),
    ]
    limitations = "".join(f"<li>{html.escape(x)}</li>" for x in case.get("limitations", []))
    more = f"<p>… {extra} {html.escape(label('more_rows', language))}</p>" if extra > 0 else ""
    cov_header = [
        label("channel", language),
        label("first", language),
        label("last", language),
        label("count", language),
        label("unknown_share", language),
    ]
    return f"""<!DOCTYPE html>
<html lang="{html.escape(language)}"><head><meta charset="utf-8">
<title>{html.escape(label("title", language))} — {html.escape(case["promotion"]["title"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;
font-size:.9em}}img{{max-width:100%}}code{{font-size:.85em}}</style></head><body>
<h1>{html.escape(label("title", language))}: {html.escape(case["promotion"]["title"])}</h1>
<h2>{html.escape(label("advertised", language))}</h2>{_pairs(_fact_rows(case, language))}
<h2>{html.escape(label("finding", language))}</h2><p>{html.escape(finding_statement(case, language))}</p>
{_pairs(_finding_rows(case, language))}
<p><code>{html.escape(case["finding"]["summary"])}</code></p>
<h2>{html.escape(label("chart", language))}</h2><img src="{html.escape(chart_file)}" alt="timeline">
<h2>{html.escape(label("coverage", language))}</h2>{_table(cov_header, _coverage_rows(case, language))}
<h2>{html.escape(label("limitations", language))}</h2><ul>{limitations}</ul>
<h2>{html.escape(label("evidence", language))}</h2>{_table(ev_header, ev[:MAX_TABLE_ROWS])}{more}
<h2>{html.escape(label("verify", language))}</h2><p>{html.escape(label("verify_text", language))}</p>
<p>{html.escape(label("software", language))}: promowatch {html.escape(case["software"]["version"])} ·
{html.escape(label("generated", language))} {html.escape(_short_time(case["generated_at"]))} UTC</p>
</body></html>
"""


_A4 = (8.27, 11.69)


_LINE = {"h": 0.03, "p": 0.015}  # 8.5 pt x 1.45 line spacing on an 842 pt page, rounded up


def _text_page(pdf: PdfPages, blocks: Sequence[tuple[str, str]]) -> None:
    """A4 pages of headed text blocks, wrapped; each run of paragraph lines is laid out as one text object
    because matplotlib's per-text layout, not the amount of text, is what costs time."""
    lines: list[tuple[str, str]] = []
    for kind, text in blocks:
        wrapped = [text] if kind == "h" else textwrap.wrap(text, 95) or [""]
        lines += [(kind, line) for line in wrapped]
    fig = Figure(figsize=_A4)
    y = 0.95
    run: list[str] = []

    def flush_run() -> None:
        nonlocal y
        if run:
            # shop text (titles, store names): drawn as written, never as mathtext
            fig.text(0.07, y, "\n".join(run), fontsize=8.5, va="top", linespacing=1.45, parse_math=False)
            y -= _LINE["p"] * len(run) + 0.006
            run.clear()

    for kind, line in lines:
        height = _LINE[kind] * (1 + len(run))
        if y - height < 0.05:
            flush_run()
            pdf.savefig(fig)
            fig = Figure(figsize=_A4)
            y = 0.95
        if kind == "h":
            flush_run()
            fig.text(0.07, y, line, fontsize=13, weight="bold", va="top", parse_math=False)
            y -= _LINE["h"]
        else:
            run.append(line)
    flush_run()
    pdf.savefig(fig)


def render_pdf(
    case: Mapping[str, Any], observations: Sequence[Mapping[str, Any]], timeline: Timeline, language: str
) -> bytes:
    """The summary as a PDF: facts and finding, the chart, then the evidence table and how to verify."""
    blocks: list[tuple[str, str]] = [("h", f"{label('title', language)}: {case['promotion']['title']}")]
    blocks.append(("h", label("advertised", language)))
    blocks += [("p", f"{k}: {v}") for k, v in _fact_rows(case, language)]
    blocks.append(("h", label("finding", language)))
    blocks.append(("p", finding_statement(case, language)))
    blocks += [("p", f"{k}: {v}") for k, v in _finding_rows(case, language)]
    blocks.append(("p", case["finding"]["summary"]))
    blocks.append(("h", label("coverage", language)))
    blocks += [("p", " · ".join(row)) for row in _coverage_rows(case, language)]
    blocks.append(("h", label("limitations", language)))
    blocks += [("p", "– " + x) for x in case.get("limitations", [])]
    out = io.BytesIO()
    with (
        literal_text(),
        PdfPages(out, metadata={"Title": label("title", language), "Creator": "promowatch"}) as pdf,
    ):
        _text_page(pdf, blocks)
        chart = Figure(figsize=(_A4[1], _A4[0]), layout="constrained")
        draw_timeline(chart, timeline, language)
        pdf.savefig(chart)
        rows = evidence_rows(observations)
        tail: list[tuple[str, str]] = [("h", label("evidence", language))]
        tail += [("p", "  ".join(row)) for row in rows[:MAX_TABLE_ROWS]]
        if len(rows) > MAX_TABLE_ROWS:
            tail.append(("p", f"… {len(rows) - MAX_TABLE_ROWS} {label('more_rows', language)}"))
        tail += [("h", label("verify", language)), ("p", label("verify_text", language))]
        tail.append(("p", f"{label('software', language)}: promowatch {case['software']['version']}"))
        _text_page(pdf, tail)
    return out.getvalue()
