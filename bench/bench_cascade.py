"""Coarse-to-fine web cascade: recall against the full path, and speed against trafilatura.

    .venv/bin/python bench/bench_cascade.py [WARC ...] [--limit N]

Over the same pages (HTML responses with status 200, decoded once, outside the timings):
* baseline: ``trafilatura.extract`` on every page (the issue's reference, 18-42 pages/s/core);
* full path: the math-preserving ``extract_html`` + the math classifier on every page;
* cascade: the gate (``curation.filter.cascade``) on every page, the full path on pages it passes.
Recall = pages kept by the cascade and by the full path / pages kept by the full path (score >=
the filter's math threshold). Also prints the gate's recall and pass rate over a threshold sweep
(from scores computed once) and the speed-up projected for a crawl whose pages pass at rate p,
since the speed-up depends on how many pages pass: the dev crawl is ~40% math, a real crawl ~1%.
Single process, CPU time (time.process_time): numbers are per core and robust to other load.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifiers.seeds import iter_warc_html  # noqa: E402
from curation.extract.html import extract_html  # noqa: E402
from curation.filter.cascade import CascadeGate, cheap_text, markup_cues  # noqa: E402
from curation.filter.math_classifier import MathClassifier  # noqa: E402
from curation.filter.settings import FilterSettings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("warcs", nargs="*", type=Path)
    ap.add_argument("--limit", type=int, default=0, help="seeded sample of N pages (0 = all)")
    args = ap.parse_args(argv)
    warcs = args.warcs or sorted((REPO.parent / "shared" / "corpus" / "web").glob("*.warc.gz"))
    pages = [html for _, _, html in iter_warc_html(warcs)]
    if args.limit:
        random.Random(20251123).shuffle(pages)
        pages = pages[: args.limit]
    mb = sum(len(p.encode("utf-8")) for p in pages) / 1e6
    settings = FilterSettings()
    clf = MathClassifier(settings.math_model)
    gate = CascadeGate(settings)
    clf.score(["warm up"])
    n = len(pages)
    print(f"{n} pages, {mb:.1f} MB of HTML, from {len(warcs)} WARC file(s)")

    import trafilatura

    t0 = time.process_time()
    for html in pages:
        trafilatura.extract(html)
    t_traf = time.process_time() - t0

    t0 = time.process_time()
    full_scores = []
    for html in pages:
        full_scores.append(float(clf.score([extract_html(html).text])[0]))
    t_full = time.process_time() - t0
    full_keep = [s >= settings.math_threshold for s in full_scores]

    decisions, gate_secs = [], []
    for html in pages:
        t1 = time.process_time()
        decisions.append(gate.decide(html))
        gate_secs.append(time.process_time() - t1)
    t_gate = sum(gate_secs)
    t0 = time.process_time()
    casc_keep = [False] * n
    for i, d in enumerate(decisions):
        if d.passed:
            casc_keep[i] = float(clf.score([extract_html(pages[i]).text])[0]) >= settings.math_threshold
    t_casc = t_gate + time.process_time() - t0

    kept = sum(full_keep)
    both = sum(a and b for a, b in zip(full_keep, casc_keep, strict=True))
    passed = sum(d.passed for d in decisions)

    def row(name: str, secs: float) -> str:
        return f"{name:34s} {n / secs:8.1f} docs/s/core  {mb / secs:6.2f} MB/s/core  ({secs:.1f} s)"

    print(row("trafilatura on every page", t_traf))
    print(row("full path (extract_html+clf)", t_full))
    print(row("cascade gate only", t_gate))
    print(row("cascade (gate + full on passed)", t_casc))
    print(f"gate passed {passed}/{n} pages ({passed / n:.1%}); full path keeps {kept}")
    print(f"RECALL cascade vs full path: {both}/{kept} = {both / max(kept, 1):.4f}")
    print(f"SPEED-UP cascade vs trafilatura on every page: {t_traf / t_casc:.2f}x (measured, this crawl)")
    # Projection for a crawl where a share p of pages passes: failing pages cost what the gate
    # cost on the pages it failed here, passing pages the gate plus the full path.
    fail = [t for t, d in zip(gate_secs, decisions, strict=True) if not d.passed]
    ok = [t for t, d in zip(gate_secs, decisions, strict=True) if d.passed]
    gate_fail = sum(fail) / max(len(fail), 1)
    gate_pass = sum(ok) / max(len(ok), 1)
    full_per_page = t_full / n
    traf_per_page = t_traf / n
    print(f"gate cost per page: {gate_fail * 1e3:.1f} ms when it fails ({1 / gate_fail:.0f} pages/s), "
          f"{gate_pass * 1e3:.1f} ms when it passes; trafilatura {traf_per_page * 1e3:.1f} ms")
    for p in (0.01, 0.05, 0.10):
        proj = traf_per_page / ((1 - p) * gate_fail + p * (gate_pass + full_per_page))
        print(f"  projected speed-up if {p:.0%} of pages pass the gate: {proj:.1f}x")

    print("gate threshold sweep (markup cues always pass):")
    fast_scores = [d.signals.get("fast_score") or 0.0 for d in decisions]
    by_markup = [d.signals.get("passed_by") == "markup" for d in decisions]
    for th in (0.05, 0.1, 0.2, 0.3, 0.5):
        ok = [m or s >= th for m, s in zip(by_markup, fast_scores, strict=True)]
        rec = sum(a and b for a, b in zip(full_keep, ok, strict=True)) / max(kept, 1)
        print(f"  threshold {th:.2f}: recall {rec:.4f}  pass rate {sum(ok) / n:.1%}")
    missed = [i for i in range(n) if full_keep[i] and not casc_keep[i]]
    for i in missed[:5]:
        d = decisions[i]
        print(f"  missed: full={full_scores[i]:.2f} fast={d.signals.get('fast_score') or 0.0:.2f} "
              f"cues={ {k: v for k, v in markup_cues(pages[i], 400_000).items() if v} } "
              f"text={cheap_text(pages[i])[:80]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
