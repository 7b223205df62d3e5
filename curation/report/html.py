"""The report as ONE self-contained HTML file: inline CSS, plots as base64 PNG, no scripts.

Every number shown comes from the report dict that is also written as ``report/stats.json``,
and its element carries ``data-stat="<JSON pointer into stats.json>"``, so a browser test can
check that the rendered page and the JSON agree, cell by cell. Plots carry ``data-plot``; a
section that is missing shows ``data-missing`` with the reason instead of a plot.
"""

from __future__ import annotations

import html
from typing import Any

from curation.report.sections import is_missing

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; }
section { margin: 2em 0; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th:first-child, td.label { text-align: left; }
td.bad { background: #fdd; }
img.plot { display: block; max-width: 100%; border: 1px solid #eee; }
.missing { color: #a60; font-style: italic; }
.sample { border-left: 3px solid #ccc; margin: 0.5em 0; padding: 0.2em 0.8em; }
.sample.dropped { border-color: #d62728; }
.sample.kept { border-color: #2ca02c; }
.sample pre { white-space: pre-wrap; font-size: 0.85em; max-height: 12em; overflow: auto; }
.meta { color: #666; font-size: 0.85em; }
"""

TITLES = {
    "funnel": "Funnel by stage and source",
    "reasons": "Drop reasons",
    "math_score": "Math score",
    "length_chars": "Length (characters)",
    "num_tokens": "Tokens",
    "languages": "Language mix",
    "dedup_clusters": "Dedup cluster sizes",
    "contamination": "Contamination per benchmark",
    "stages_extra": "Stage statistics",
    "samples": "Random samples (seeded)",
}


def pointer(*parts: Any) -> str:
    """RFC 6901 JSON pointer: '~' -> '~0', '/' -> '~1'."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def fmt(value: Any) -> str:
    """Integers with thousands separators, floats with 4 decimals: what the test parses back."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def num(value: Any, *path: Any, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<td{klass} data-stat="{esc(pointer(*path))}">{esc(fmt(value))}</td>'


def label(text: Any) -> str:
    return f'<td class="label">{esc(text)}</td>'


def table(header: list[str], rows: list[str], attrs: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f"<table {attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def plot_img(name: str, plots: dict[str, str]) -> str:
    if name not in plots:
        return ""
    return (
        f'<img class="plot" data-plot="{esc(name)}" alt="{esc(TITLES.get(name, name))} plot" '
        f'src="data:image/png;base64,{plots[name]}">'
    )


def missing_note(name: str, section: dict[str, Any]) -> str:
    return f'<p class="missing" data-missing="{esc(name)}">Not available yet: {esc(section["missing"])}.</p>'


# --- sections -----------------------------------------------------------------------------------


def funnel_html(f: dict[str, Any]) -> str:
    rows = []
    for stage in f["stages"]:
        bad = "" if f["accounting_ok"][stage] else "bad"
        for src, c in f["by_stage_source"][stage].items():
            rows.append(
                label(stage)
                + label(src)
                + "".join(num(c[k], "funnel", "by_stage_source", stage, src, k, cls=bad) for k in ("in", "kept", "rejected"))
            )
        t = f["by_stage"][stage]
        rows.append(
            label(stage)
            + '<td class="label"><b>all</b></td>'
            + "".join(num(t[k], "funnel", "by_stage", stage, k, cls=bad) for k in ("in", "kept", "rejected"))
        )
    broken = [s for s, ok in f["accounting_ok"].items() if not ok]
    warn = (
        f'<p class="missing" data-accounting-broken="{esc(",".join(broken))}">in != kept + rejected in: '
        f"{esc(', '.join(broken))}</p>"
        if broken
        else ""
    )
    return warn + table(["stage", "source", "in", "kept", "rejected"], rows, 'data-table="funnel"')


def reasons_html(r: dict[str, Any]) -> str:
    rows = []
    for stage, per_source in r["by_stage_source"].items():
        for reason, n in r["by_stage"][stage].items():
            cells = "".join(
                num(per_source[src][reason], "reasons", "by_stage_source", stage, src, reason)
                if reason in per_source.get(src, {})
                else "<td></td>"
                for src in _sources_of(r)
            )
            rows.append(label(stage) + label(reason) + num(n, "reasons", "by_stage", stage, reason) + cells)
    return table(["stage", "reason", "all", *_sources_of(r)], rows, 'data-table="reasons"')


def _sources_of(r: dict[str, Any]) -> list[str]:
    from curation.report.sections import SOURCES, ordered

    return ordered({s for per in r["by_stage_source"].values() for s in per}, SOURCES)


def histogram_html(name: str, h: dict[str, Any]) -> str:
    cols = [(status, src) for status, per in h["counts"].items() for src in per]
    edges = h["edges"]
    rows = []
    for i in range(len(edges) - 1):
        cells = "".join(num(h["counts"][st][src][i], name, "counts", st, src, i) for st, src in cols)
        rows.append(label(f"[{edges[i]:g}, {edges[i + 1]:g})") + cells)
    nulls = "".join(
        f'<li>{esc(status)}: <span data-stat="{esc(pointer(name, "nulls", status))}">{esc(fmt(n))}</span></li>'
        for status, n in h["nulls"].items()
    )
    nulls_html = f"<p>Documents without a value (rejected before the column is filled):</p><ul>{nulls}</ul>" if nulls else ""
    tbl = table(["bin", *[f"{st} {src}" for st, src in cols]], rows, f'data-table="{esc(name)}"')
    return f"{nulls_html}<details><summary>Bin counts per source</summary>{tbl}</details>"


def languages_html(lg: dict[str, Any]) -> str:
    rows = []
    for status, per_source in lg["counts"].items():
        for src, per_lang in per_source.items():
            for lang, n in per_lang.items():
                rows.append(label(status) + label(src) + label(lang) + num(n, "languages", "counts", status, src, lang))
    totals = table(
        ["language", "kept documents"],
        [label(lang) + num(n, "languages", "kept_total", lang) for lang, n in lg["kept_total"].items()],
        'data-table="languages_total"',
    )
    return totals + "<details><summary>By status and source</summary>" + table(
        ["status", "source", "language", "documents"], rows, 'data-table="languages"'
    ) + "</details>"


def dedup_html(d: dict[str, Any]) -> str:
    rows = [
        label(kind) + label(size) + num(n, "dedup_clusters", "sizes", kind, size)
        for kind, sizes in d["sizes"].items()
        for size, n in sizes.items()
    ]
    summary = (
        f'<p><span data-stat="{esc(pointer("dedup_clusters", "clusters"))}">{fmt(d["clusters"])}</span> clusters, '
        f'<span data-stat="{esc(pointer("dedup_clusters", "documents_removed"))}">{fmt(d["documents_removed"])}</span>'
        " documents removed as duplicates of their cluster's survivor.</p>"
    )
    if not rows:
        return summary.replace("<p>", '<p data-dedup="none">', 1)
    return summary + table(["kind", "cluster size", "clusters"], rows, 'data-table="dedup_clusters"')


def contamination_html(c: dict[str, Any]) -> str:
    from curation.report.sections import SOURCES, ordered

    sources = ordered({s for per in c["by_benchmark_source"].values() for s in per}, SOURCES)
    rows = []
    for bench, n in c["by_benchmark"].items():
        per_src = c["by_benchmark_source"].get(bench, {})
        cells = "".join(
            num(per_src[src], "contamination", "by_benchmark_source", bench, src) if src in per_src else "<td></td>"
            for src in sources
        )
        rows.append(label(bench) + num(n, "contamination", "by_benchmark", bench) + cells)
    if not any(c["by_benchmark"].values()):
        return '<p data-contamination="none">No document matched any benchmark.</p>' + (
            table(["benchmark", "documents removed"], rows, 'data-table="contamination"') if rows else ""
        )
    return table(["benchmark", "documents removed", *sources], rows, 'data-table="contamination"')


def stages_extra_html(extra: dict[str, dict[str, Any]]) -> str:
    parts = []
    for stage, values in extra.items():
        rows = [label(k) + num(v, "stages_extra", stage, k) for k, v in values.items()]
        parts.append(f"<h3>{esc(stage)}</h3>" + table(["statistic", "value"], rows, f'data-table="extra-{esc(stage)}"'))
    return "".join(parts) or "<p>No stage recorded extra statistics.</p>"


def samples_html(samples: dict[str, Any], sample_chars: int) -> str:
    parts = []
    for src, by_status in samples.items():
        parts.append(f"<h3>{esc(src)}</h3>")
        for status in ("kept", "dropped"):
            rows = by_status.get(status, [])
            if not rows:
                parts.append(f"<p class='meta'>No {status} document from {esc(src)}.</p>")
                continue
            for row in rows:
                why = f" · {esc(row['stage'])}: <b>{esc(row['reason'])}</b>" if status == "dropped" else ""
                score = "" if row.get("math_score") is None else f" · math_score {row['math_score']:.3f}"
                text = (row.get("text") or "")[:sample_chars]
                parts.append(
                    f'<div class="sample {status}" data-sample-id="{esc(row["id"])}" data-sample-status="{status}" '
                    f'data-sample-source="{esc(src)}"><div class="meta">{status} · <code>{esc(row["id"])}</code> · '
                    f"{esc(row.get('origin'))} · lang {esc(row.get('lang') or '?')}{score}{why}</div>"
                    f"<pre>{esc(text)}</pre></div>"
                )
    return "".join(parts)


def render_html(report: dict[str, Any], plots: dict[str, str], sample_chars: int = 600) -> str:
    body = [f"<h1>{esc(report.get('title', 'Math corpus data-quality report'))}</h1>"]
    body.append(
        f"<p class='meta'>Output folder <code>{esc(report.get('output'))}</code>; stages with data: "
        f"{esc(', '.join(report.get('stages_present', [])) or 'none')}; final kept set read from "
        f"<code>{esc(report.get('final_stage') or '-')}</code>.</p>"
    )
    notes = report.get("notes") or []
    if notes:
        body.append("<ul id='notes'>" + "".join(f"<li class='missing'>{esc(n)}</li>" for n in notes) + "</ul>")
    renderers = {
        "funnel": funnel_html,
        "reasons": reasons_html,
        "math_score": lambda s: histogram_html("math_score", s),
        "length_chars": lambda s: histogram_html("length_chars", s),
        "num_tokens": lambda s: histogram_html("num_tokens", s),
        "languages": languages_html,
        "dedup_clusters": dedup_html,
        "contamination": contamination_html,
        "stages_extra": stages_extra_html,
        "samples": lambda s: samples_html(s, sample_chars),
    }
    for name, render in renderers.items():
        section = report.get(name)
        inner = missing_note(name, section) if is_missing(section) or section is None else (
            plot_img(name, plots) + render(section)
        )
        if section is None:
            inner = missing_note(name, {"missing": "not computed"})
        body.append(f'<section id="{name}"><h2>{esc(TITLES[name])}</h2>{inner}</section>')
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(report.get('title', 'Math corpus report'))}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
