"""The code examples of the documentation pages run and print what the pages say.

Each ``pycon`` block of a page is a doctest; the blocks of one page share their names, in page
order, as a reader typing them would.
"""

from __future__ import annotations

import doctest
import re

import api_names
import pytest

DOCS = api_names.ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_tools" not in p.parts)
BLOCK = re.compile(r"^```pycon\n(.*?)^```", flags=re.S | re.M)


def examples(page):
    """The ``pycon`` blocks of ``page``, as one doctest text."""
    return "\n".join(BLOCK.findall(page.read_text()))


@pytest.mark.parametrize("page", [p for p in PAGES if examples(p)], ids=lambda p: p.name)
def test_page_examples(page):
    test = doctest.DocTestParser().get_doctest(examples(page), {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {page} failed"


def test_the_guide_pages_have_examples():
    # The blocks must be found: a changed fence (```python) would silently test nothing.
    for name in ("index.md", "coordinates.md", "placement.md"):
        assert examples(DOCS / name).count(">>>") >= 3, name
