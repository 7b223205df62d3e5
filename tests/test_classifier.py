"""The shipped math classifier: normalisation, and recall/precision on data it was not trained on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import BENCHMARKS, CORPUS, REPO, needs_shared

from curation.filter.math_classifier import DEFAULT_MODEL, MathClassifier
from curation.filter.normalize import normalize


def test_normalize_splits_cjk_and_formulas():
    out = normalize("已知 $x^{2}+1=10$，求 x")
    tokens = out.split()
    assert "已" in tokens and "知" in tokens and "求" in tokens
    assert "^" in tokens and "{" in tokens and "=" in tokens
    assert "10" not in tokens and "0" in tokens  # numbers collapse
    assert normalize("") == "" and normalize(None) == ""


def test_normalize_folds_each_number_to_one_token():
    # Numbers with separators are one token; letters beside digits stay their own tokens.
    out = normalize("a1.5b costs 1,000.25 or ٣٤ x2 \\alpha3")
    assert out.split() == ["a", "0", "b", "costs", "0", "or", "0", "x", "0", "\\alpha", "0"]


def test_shipped_model_is_small_and_quantized():
    assert DEFAULT_MODEL.is_file()
    assert DEFAULT_MODEL.suffix == ".ftz"
    assert DEFAULT_MODEL.stat().st_size < 10_000_000


def _bench_questions(name: str, field: str, n: int) -> list[str]:
    with open(BENCHMARKS / name / "test.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return [r[field] for r in rows[:n]]


@needs_shared
@pytest.mark.parametrize(("bench", "field", "min_recall"), [
    ("cmath", "question", 0.90),  # Chinese, never used for training (measured 0.982 with the head)
    # measured 0.802 since formula-dense questions count as Chinese text (0.723 before, features v1),
    # 0.772 since the generic-web negatives (iteration 7): at the bar, which stays where it was
    ("cn_middle_school", "question", 0.77),
    ("math", "problem", 0.80),  # measured 0.863 (0.91 before the generator-aware seeds): short problems have few formulas for the head
])
def test_benchmark_questions_score_as_math(bench, field, min_recall):
    texts = _bench_questions(bench, field, 300)
    scores = MathClassifier().score(texts)
    assert float(np.mean(scores >= 0.5)) >= min_recall


@needs_shared
def test_held_out_pages_precision_recall():
    """The 80 pages of contaminated.warc.gz are not in web/ (never trained on): labels known."""
    import sys

    if str(REPO) not in sys.path:  # classifiers/ is a top-level folder, not an installed package
        sys.path.insert(0, str(REPO))
    from classifiers.seeds import html_extractor, iter_warc_html

    with open(CORPUS / "contaminated" / "labels.jsonl", encoding="utf-8") as fh:
        labels = {json.loads(line)["warc_record_id"]: json.loads(line) for line in fh}
    _, extract = html_extractor()
    y, texts = [], []
    for rid, _url, html in iter_warc_html([CORPUS / "contaminated" / "contaminated.warc.gz"]):
        row = labels[rid]
        if row["benchmark"] is None:  # clean pages only: inserted items would bias the label
            y.append(row["page_label"] == "math")
            texts.append(extract(html))
    y = np.array(y)
    pred = MathClassifier().score(texts) >= 0.5
    assert len(y) >= 30
    precision = (pred & y).sum() / max(pred.sum(), 1)
    recall = (pred & y).sum() / max(y.sum(), 1)
    assert precision >= 0.8 and recall >= 0.8, (precision, recall)


def test_threshold_calibration_never_sees_the_held_out_site():
    """Each site's threshold is chosen on the other sites' labels: flipping every label of site
    "a" must not move "a"'s threshold, while it does move the thresholds of "b" and "c"."""
    import sys

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from classifiers.evaluate import calibrated_thresholds

    def rows(domain, pairs):
        return [{"domain": domain, "label": lab, "score": s} for s, lab in pairs]

    b = rows("b", [(0.9, "math"), (0.72, "math"), (0.68, "nonmath"), (0.2, "nonmath")])
    c = rows("c", [(0.8, "math"), (0.74, "math"), (0.66, "nonmath"), (0.1, "nonmath")])
    a_pairs = [(0.35, "math"), (0.3, "math"), (0.25, "nonmath"), (0.05, "nonmath")]
    a_flipped = [(s, "nonmath" if lab == "math" else "math") for s, lab in a_pairs]
    before = calibrated_thresholds(rows("a", a_pairs) + b + c)
    after = calibrated_thresholds(rows("a", a_flipped) + b + c)
    assert before["a"] == after["a"]
    assert 0.65 <= before["a"] <= 0.7  # b and c separate at 0.68-0.72
    assert before["b"] != after["b"] or before["c"] != after["c"]


# Ordinary prose, written for this test (never in any seed): the shipped model must not read
# everyday English as math. Before the prose negatives and the head, "The cat sat on the mat." x30
# scored 0.85 and a cooking page 0.51.
PROSE = {
    "cooking": (
        "Start the risotto by warming the stock in a small pan and keeping it at a bare simmer. "
        "In a wide, heavy pot, melt a knob of butter with a splash of olive oil, then add the "
        "chopped onion and a pinch of salt. Let it soften slowly, without colour, for about ten "
        "minutes, stirring now and then so that it does not catch.\n\n"
        "Tip in the rice and stir until every grain is coated and glossy. Pour in a glass of dry "
        "white wine and let it bubble away until the smell of alcohol has gone. Now add the hot "
        "stock a ladle at a time, stirring gently and waiting until each addition has been "
        "absorbed before adding the next. After twenty minutes or so the rice should be creamy "
        "but still have a little bite. Take the pot off the heat, beat in the parmesan and a last "
        "piece of cold butter, cover, and leave it to rest for two minutes before serving."
    ),
    "travel": (
        "We left the village before dawn, when the fog still lay in the valley like milk in a "
        "bowl. The path climbed through chestnut woods and then out onto open pasture, where the "
        "cows wore bells and watched us with complete indifference. By mid-morning the sun had "
        "burned through and the whole range stood clear against the sky.\n\n"
        "The hut was smaller than the guidebook suggested, but the warden made soup that tasted "
        "of smoke and thyme, and nobody complained about the bunks. In the evening a group of "
        "students from Lyon sang until the warden switched off the generator. The next day we "
        "took the long way down along the lake, stopping to swim where a stream ran into it, and "
        "caught the last bus back to town with our boots tied to our packs."
    ),
    "sports": (
        "The home side started brightly, pressing high and winning the ball back in midfield "
        "again and again, but their final pass kept letting them down. The visitors, content to "
        "sit deep, waited for their chance and took it just before half-time, when a long ball "
        "over the top found their striker running clear of the defence.\n\n"
        "After the break the manager changed the shape, bringing on a second forward and pushing "
        "the full-backs further up the pitch. The equaliser came from a corner, headed in at the "
        "near post by the captain, and the crowd hardly had time to sit down before the winger "
        "cut inside and curled a shot into the far corner. The last ten minutes were nervous, "
        "with the keeper making two fine saves, but the team held on for a win that lifts them "
        "out of the relegation places."
    ),
    "repetition": "The cat sat on the mat. " * 30,
    "gardening": (
        "Tomatoes want sun, warmth and steady water. Plant them out only when the nights stay "
        "mild, bury the stem a little deeper than it sat in the pot, and put the stake in at the "
        "same time so that you do not damage the roots later. Pinch out the side shoots of cordon "
        "varieties every week, water at the base rather than over the leaves, and feed with a "
        "potash-rich fertiliser once the first trusses have set. If the leaves curl in a heatwave "
        "do not panic: they usually recover once the evenings cool down."
    ),
}
MATH_TEXTS = {
    "latex": (
        "Let $f(x) = x^2 - 4x + 13$. Completing the square gives $f(x) = (x-2)^2 + 9$, so "
        "$f(x) \\ge 9$ for every real $x$ and the equation $f(x) = 0$ has the complex roots "
        "$$x = 2 \\pm 3i.$$ By Vieta's formulas the roots satisfy $x_1 + x_2 = 4$ and $x_1 x_2 = 13$."
    ),
    "word_problem": (
        "A train travels 240 km in 3 hours. What is its average speed? If it then travels at "
        "$90$ km/h for another $2$ hours, how far has it gone in total? Solution: the speed is "
        "$240 / 3 = 80$ km/h; the second part is $90 \\times 2 = 180$ km, so the total is "
        "$240 + 180 = 420$ km."
    ),
    "plain_calculus": (
        "The derivative of sin(x)^2 is 2 sin(x) cos(x) = sin(2x). Integrating by parts, the "
        "integral of x e^x dx equals x e^x - e^x + C. For the series sum 1/n^2 = pi^2/6, and the "
        "limit of (1 + 1/n)^n as n tends to infinity is e."
    ),
    "chinese": "已知二次函数 y = x² - 4x + 3，求它的顶点坐标和与 x 轴的交点。解：配方得 y = (x - 2)² - 1，"
               "所以顶点为 (2, -1)；令 y = 0，得 x = 1 或 x = 3。",
}


@pytest.mark.parametrize("name", sorted(PROSE))
def test_ordinary_prose_scores_below_threshold(name):
    score = float(MathClassifier().score([PROSE[name]])[0])
    assert score < 0.5, (name, score)


@pytest.mark.parametrize("name", sorted(MATH_TEXTS))
def test_math_text_scores_above_threshold(name):
    score = float(MathClassifier().score([MATH_TEXTS[name]])[0])
    assert score >= 0.5, (name, score)


def test_shipped_head_is_loaded_and_changes_the_score():
    """The head file ships beside the model; without it the score is fastText's own probability."""
    from curation.filter.math_classifier import head_path_for

    assert head_path_for(DEFAULT_MODEL).is_file()
    texts = [PROSE["cooking"], MATH_TEXTS["latex"]]
    with_head = MathClassifier()
    without = MathClassifier(use_head=False)
    assert with_head.head() is not None and without.head() is None
    assert np.allclose(without.score(texts), with_head.fasttext_score(texts))
    assert not np.allclose(with_head.score(texts), without.score(texts))
    assert list(MathClassifier().score(["", None, "   "])) == [0.0, 0.0, 0.0]


def test_formula_counts():
    from curation.filter.math_features import raw_counts

    c = raw_counts("Price \\$5 or \\$6. Let $x^{2}+1$ and $y$, then $$y=2$$ and \\(z\\), \\[a\\], "
                   "\\begin{equation} b \\end{equation}. x^2, 2*x, a_i but not foo_bar. (%i1) 2+2;")
    assert c["tex_inline"] == 3  # $x^{2}+1$, $y$, \(z\); the escaped \$ are currency
    assert c["tex_display"] == 3  # $$y=2$$, \[a\], equation
    assert c["maxima"] == 1
    assert c["fragments"] >= 3  # x^2, 2*x, a_i (and x^{ inside the TeX)
    # Pandoc's rule: regex anchors and back-references are not formulas; ``$$\begin{align}..$$``
    # is one formula, and TeX in Python REPL lines (code) does not count.
    apache = raw_counts("RewriteRule ^/(.*)$ /$1 [R]\nRewriteRule ^/a/(.*)$ /b/$1\nIt costs $5 or $ 6.")
    assert apache["tex_inline"] == apache["tex_display"] == 0
    sphinx = raw_counts("$$\\begin{align}x\\end{align}$$\n>>> plt.plot(x, label=r\"$I_1$\")\n")
    assert (sphinx["tex_inline"], sphinx["tex_display"]) == (0, 1)
    prose = raw_counts(PROSE["cooking"])
    assert prose["tex_inline"] == prose["tex_display"] == prose["fragments"] == prose["maxima"] == 0


def test_dollars_after_a_word_digit_or_quote_open_no_formula():
    """R's ``df$a + df$b``, ``US$5`` and TeX strings in code (``label="$x$"``, ``'$y$'``) are not
    formulas; ``$x$`` after a space or an opening bracket is."""
    from curation.filter.math_features import raw_counts

    code = raw_counts('df$a + df$b\ncosts US$5 and US$6\nax.plot(x, label="$\\sin x$")\ntitle(\'$y_1$\')')
    assert code["tex_inline"] == code["tex_display"] == 0
    prose = raw_counts("Let $x$ be real (and $y>0$); then [$z$] holds, as does $$x+y$$.")
    assert (prose["tex_inline"], prose["tex_display"]) == (3, 1)


def test_formula_dense_chinese_questions_count_as_chinese_text():
    """More CJK characters than Latin words makes a text Chinese, whatever its share of all
    characters; an English sentence naming a Chinese word stays English."""
    from curation.filter.math_features import CJK_TEXT_SHARE, count_features

    for question in ("计算: \\sqrt{18}-\\sqrt{12} \\times \\sqrt{\\frac{3}{2}}",
                     "下列计算正确的是（）. A. a^{2} \\cdot a^{5}=a^{10} B. a^{8} \\div a^{2}=a^{4} C. -2 a+5 a=7 a"):
        feats = count_features(question)
        assert feats["cjk_share"] >= CJK_TEXT_SHARE and feats["formulas"] == 0
    english = count_features("The Chinese word 数学 means mathematics, and 方程 means equation; we use both.")
    assert english["cjk_share"] < CJK_TEXT_SHARE


def test_scoring_window_moves_to_the_formulas_of_a_long_text():
    from curation.filter.math_features import WINDOW_LEAD_CHARS, raw_counts, scoring_window

    short = "Let $x$ be real."
    assert scoring_window(short, 100) == short
    prose = "The reference page lists members and their descriptions in order. " * 400  # ~27k chars
    late = prose + "Apply the reflector $H = I - \\tau v v^*$ with $v^T = [1, e^T]$, and \\(v_0 = 1\\). " + prose
    window = scoring_window(late, 20_000)
    assert len(window) == 20_000
    assert raw_counts(window)["tex_inline"] == 3 and window.index("$H") == WINDOW_LEAD_CHARS
    # The head stays when it holds as many formulas as any later window.
    early = "Let $a$, $b$ and $c$ be given. " + prose + "Then $d$ follows."
    assert scoring_window(early, 20_000) == early[:20_000]
    # Near the end the window is shifted back to stay full.
    tail = prose + "Finally $p$, $q$ and $r$."
    assert scoring_window(tail, 20_000) == tail[-20_000:]


def test_long_page_with_late_formulas_scores_as_math():
    """A Doxygen-like reference page: 25,000 characters of member lists, then the formulas. The
    classifier reads the window that holds them (bench/unseen_packages.py: Eigen's MatrixBase)."""
    members = "".join(f"void resize{i} (Index rows, Index cols) Resizes the matrix to the given size. "
                      for i in range(300))
    formulas = ("Apply the elementary reflector $H = I - \\tau v v^*$ with $v^T = [1, e^T]$ from the left "
                "to a vector or matrix. The norm is $\\|v\\|_2 = \\sqrt{\\sum_i |v_i|^2}$, and the "
                "trace is $\\operatorname{tr}(A) = \\sum_i a_{ii}$. ") * 4
    clf = MathClassifier()
    page = members + formulas
    assert len(members) > 20_000
    assert clf.score([page])[0] >= 0.5
    assert clf.score([members])[0] < 0.5


def test_head_roundtrip_and_version_check(tmp_path):
    from curation.filter.math_features import FEATURE_NAMES
    from curation.filter.math_head import MathHead, fit_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, len(FEATURE_NAMES)))
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.normal(size=400)) > 0
    head = fit_head(x, y)
    assert np.mean((head.predict_proba(x) >= 0.5) == y) > 0.9
    head.save(tmp_path / "h.json")
    again = MathHead.load(tmp_path / "h.json")
    assert np.allclose(again.predict_proba(x), head.predict_proba(x))
    bad = json.loads((tmp_path / "h.json").read_text())
    bad["feature_names"] = bad["feature_names"][::-1]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError):
        MathHead.load(tmp_path / "bad.json")


def test_nested_head_never_sees_the_held_out_site():
    """The head that scores site "a" is fit without "a": flipping every label of "a" (and its
    fastText scores) must leave "a"'s head scores unchanged, while "b"'s change."""
    import sys

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from classifiers.evaluate import FoldScores, nested_head_scores
    from curation.filter.math_features import FEATURE_NAMES

    rng = np.random.default_rng(1)
    sites = ["a", "b", "c", "d"]
    groups = np.repeat(sites, 60)
    n = len(groups)
    y = rng.random(n) < 0.5
    counts = np.zeros((n, len(FEATURE_NAMES)))
    counts[:, 1] = y * 2.0 + rng.normal(size=n)
    single = np.clip(0.5 + 0.3 * (y - 0.5) + 0.2 * rng.normal(size=n), 0.01, 0.99)
    pair = {(s, t): np.clip(single + 0.05 * rng.normal(size=n), 0.01, 0.99)
            for i, s in enumerate(sites) for t in sites[i + 1:]}
    web = np.full(n, "web")
    before, _ = nested_head_scores(FoldScores(sites, groups, single, pair), counts, y, web)
    y2 = y.copy()
    a = groups == "a"
    y2[a] = ~y2[a]
    pair2 = {k: np.where(a, 1 - v, v) for k, v in pair.items()}
    after, _ = nested_head_scores(FoldScores(sites, groups, single, pair2), counts, y2, web)
    assert np.allclose(before[a], after[a])
    assert not np.allclose(before[groups == "b"], after[groups == "b"])
