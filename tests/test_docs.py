"""Every example output in README.md and docs/*.md is what its command prints on the SYNTHETIC
demo data (tests/docs_examples.py runs them; `make docs` rewrites them after a change)."""

import re

import pytest

import docs_examples
from docs_examples import REPO, normalise, render, unchecked_outputs


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return docs_examples.make_demo(tmp_path_factory.mktemp("demo"))


def test_every_example_output_is_what_its_command_prints(demo, tmp_path):
    pages = docs_examples.rendered_docs(demo, tmp_path)
    assert REPO / "README.md" in pages
    diff = docs_examples.differences(pages)
    assert not diff, f"Example outputs differ from what their commands print now; if the new output is right, run `make docs`:\n{diff}"


def test_a_changed_number_in_an_example_is_found(demo, tmp_path):
    """The check compares every character of an output: one count changed by one fails it."""
    text = "Intro.\n\n<!-- example -->\n```text\n$ kratom-ae query reactions --db demo.duckdb --source faers --role suspect --top 1\n```\n"
    fresh = render(text, demo)
    assert "Kratom reports in scope (the denominator of the percentages): 1,960." in fresh
    assert render(fresh, demo) == fresh
    drifted = fresh.replace("1,960", "1,936")
    assert drifted != fresh and render(drifted, demo) == fresh


def test_every_block_that_shows_output_is_an_example():
    for path in docs_examples.doc_files():
        assert unchecked_outputs(path.read_text(encoding="utf-8")) == [], f"{path.name} shows output that no test runs: mark it <!-- example -->"


def test_an_output_block_without_the_marker_is_found():
    text = "```\n$ kratom-ae status\nkratom-ae database kratom-ae.duckdb\n```\n\n<!-- example -->\n```text\n$ kratom-ae status\n```\n\n```\nmake run\n```\n"
    assert unchecked_outputs(text) == ["$ kratom-ae status\nkratom-ae database kratom-ae.duckdb\n"]


def test_only_times_of_day_line_ends_and_trailing_spaces_are_normalised():
    printed = "│ fetched (UTC)  │ 2026-12-06 23:15:10   │   \r\nfetched 2026-12-06T23:15:11Z); 0 requests\r\nreceived 2008-01-09 to 2025-12-27  \r\n 1,903 \r\n\r\n\r\n"
    assert normalise(printed) == (
        "│ fetched (UTC)  │ YYYY-MM-DD hh:mm:ss   │\n"
        "fetched YYYY-MM-DDThh:mm:ssZ); 0 requests\n"
        "received 2008-01-09 to 2025-12-27\n"
        " 1,903"
    )


def test_the_demo_is_made_as_make_demo_makes_it():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "$(BIN)/python " + " ".join(docs_examples.DEMO_ARGS) in recipe


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_pages_leads_to_a_file_and_heading():
    for path in docs_examples.doc_files():
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, fragment = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            assert linked.exists(), f"{path.name} links to {target}, which does not exist"
            if fragment:
                headings = re.findall(r"^#+ (.*)$", linked.read_text(encoding="utf-8"), re.M)
                assert fragment in {anchor(h) for h in headings}, f"{path.name} links to {target}: no such heading"


def test_the_readme_stays_a_short_introduction():
    """Issue 21: what the tool does, the quick start, each command with one example and the
    data's limits, in about 250 lines; the manual is docs/. A section that grows moves there."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 260
    for heading in ("## Quick start", "## Where the data come from", "## Counting rules", "## Commands", "## Documentation"):
        assert heading in readme
