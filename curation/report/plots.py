"""Plots for the report as base64 PNG strings, drawn with matplotlib's Agg backend (no display).

Each function takes a section dict from ``curation.report.sections`` and returns the PNG bytes
base64-encoded, ready for ``<img src="data:image/png;base64,...">``, so the HTML needs no
external file. A missing section gets no plot; the HTML says why instead.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: headless executors and CI have no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from curation.report.sections import is_missing

# One colour per source, stable across plots (tab10 order).
SOURCE_COLORS = {"web": "#1f77b4", "books": "#ff7f0e", "forums": "#2ca02c", "code": "#9467bd"}
STATUS_COLORS = {"kept": "#2ca02c", "dropped": "#d62728"}
MAX_BARS = 15


def _color(source: str) -> str:
    return SOURCE_COLORS.get(source, "#7f7f7f")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    # Fixed metadata keeps the bytes identical across runs (matplotlib stamps its version only).
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def funnel_plot(funnel: dict[str, Any]) -> str:
    stages, sources = funnel["stages"], funnel["sources"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bottoms = [0] * len(stages)
    for src in sources:
        kept = [funnel["by_stage_source"][s].get(src, {}).get("kept", 0) for s in stages]
        ax.bar(stages, kept, bottom=bottoms, color=_color(src), label=f"kept: {src}")
        bottoms = [b + k for b, k in zip(bottoms, kept, strict=True)]
    rejected = [funnel["by_stage"][s]["rejected"] for s in stages]
    ax.bar(stages, rejected, bottom=bottoms, color="white", edgecolor="#d62728", hatch="//", label="rejected")
    ax.set_ylabel("documents")
    ax.set_title("Funnel: documents in each stage (kept by source, rejected hatched)")
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def reasons_plot(reasons: dict[str, Any]) -> str:
    items = [(f"{stage}: {reason}", n) for stage, rs in reasons["by_stage"].items() for reason, n in rs.items()]
    items = sorted(items, key=lambda kv: -kv[1])[:MAX_BARS][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#d62728")
    ax.set_xlabel("documents dropped")
    ax.set_title(f"Drop reasons (top {len(items)})")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def histogram_plot(hist: dict[str, Any], title: str) -> str:
    edges = hist["edges"]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for status, per_source in hist["counts"].items():
        total = [sum(col) for col in zip(*per_source.values(), strict=True)]
        ax.stairs(total, edges, color=STATUS_COLORS.get(status, "#7f7f7f"), linewidth=1.8, label=status)
    if hist["log"]:
        ax.set_xscale("log")
    ax.set_ylabel("documents")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _png(fig)


def languages_plot(langs: dict[str, Any]) -> str:
    kept = langs["counts"].get("kept") or next(iter(langs["counts"].values()))
    totals: dict[str, int] = {}
    for per_source in kept.values():
        for lang, n in per_source.items():
            totals[lang] = totals.get(lang, 0) + n
    top = [lang for lang, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:MAX_BARS]]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottoms = [0] * len(top)
    for src, per_lang in kept.items():
        vals = [per_lang.get(lang, 0) for lang in top]
        ax.bar(top, vals, bottom=bottoms, color=_color(src), label=src)
        bottoms = [b + v for b, v in zip(bottoms, vals, strict=True)]
    ax.set_ylabel("documents")
    ax.set_title("Language mix of the kept documents")
    ax.legend(fontsize=8)
    return _png(fig)


def dedup_plot(dedup: dict[str, Any]) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    kinds = list(dedup["sizes"])
    width = 0.8 / max(len(kinds), 1)
    for i, kind in enumerate(kinds):
        sizes = dedup["sizes"][kind]
        xs = [int(s) + (i - (len(kinds) - 1) / 2) * width for s in sizes]
        ax.bar(xs, list(sizes.values()), width=width, label=kind)
    ax.set_yscale("log")
    ax.set_xlabel("documents per duplicate cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Dedup cluster sizes")
    ax.legend(fontsize=8)
    return _png(fig)


def contamination_plot(cont: dict[str, Any]) -> str:
    items = list(cont["by_benchmark"].items())[:MAX_BARS]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar([k for k, _ in items], [v for _, v in items], color="#8c564b")
    ax.set_ylabel("documents removed")
    ax.set_title("Contamination per benchmark")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return _png(fig)


# Report section -> (plot function, extra arguments). The order is the order in the HTML.
PLOTS: dict[str, tuple[Callable[..., str], tuple[Any, ...]]] = {
    "funnel": (funnel_plot, ()),
    "reasons": (reasons_plot, ()),
    "math_score": (histogram_plot, ("math_score (kept vs dropped)",)),
    "length_chars": (histogram_plot, ("Document length in characters (log scale)",)),
    "num_tokens": (histogram_plot, ("Tokens per document (log scale)",)),
    "languages": (languages_plot, ()),
    "dedup_clusters": (dedup_plot, ()),
    "contamination": (contamination_plot, ()),
}


def make_plots(report: dict[str, Any]) -> dict[str, str]:
    """Every plot whose section is present, by section name."""
    out = {}
    for name, (fn, args) in PLOTS.items():
        section = report.get(name)
        if section is None or is_missing(section):
            continue
        if name == "contamination" and not any(section["by_benchmark"].values()):
            continue  # benchmarks were checked and none matched: the table says so, no empty plot
        if name == "dedup_clusters" and not section["sizes"]:
            continue  # no duplicate found: the text says so
        out[name] = fn(section, *args)
    return out
