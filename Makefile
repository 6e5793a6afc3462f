# kratom-ae: every target sets up its own .venv first (nothing is installed globally).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.installed

.PHONY: run test demo docs screenshot bench bench-quick bench-bulk bench-bulk-quick bench-background bench-background-quick cassettes cassettes-live clean

# The main job: fetch every kratom report from openFDA, then show what the database holds.
run: $(READY)
	$(BIN)/kratom-ae fetch
	$(BIN)/kratom-ae status

# The whole test suite, offline (recorded cassettes and a local fake server only), on every
# core (pytest-xdist): about 4.5 minutes on 2 cores, twice that on one.
test: $(READY)
	$(BIN)/python -m pytest -n auto

# The main job offline: the same fetch replayed from the recorded SYNTHETIC cassette, then
# signals (background replayed from its synthetic cassette) and the report in demo-report/.
# The demo database is made afresh each time (a file left by another version would be refused).
demo: $(READY)
	rm -rf demo.duckdb demo.duckdb.wal demo-report
	$(BIN)/python tests/demo.py --db demo.duckdb --report demo-report

# Rewrite every example output in README.md and docs/*.md from the commands run on the demo data
# (tests/test_docs.py fails when one differs from what its command prints).
docs: $(READY)
	$(BIN)/python tests/docs_examples.py --update

# Re-make docs/report.png (the README's screenshot) with the report's browser test.
screenshot: $(READY)
	KRATOM_AE_UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest tests/test_report_browser.py -q

# Ingest and query benchmarks, then the bulk load's; writes BENCHMARKS.md (about an hour and a
# half: the naive baseline is slow, and the bulk files are made once, ~16 GB under bench/.data).
bench: $(READY)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bulk.py

# `kratom-ae bulk load` of 1,000,000 SYNTHETIC reports in 100 and in 25 partitions against
# DuckDB's own read of the same records unzipped; peak memory, all of FAERS extrapolated, each
# step timed; writes its section of BENCHMARKS.md (about 25 minutes, the data made once).
bench-bulk: $(READY)
	$(BIN)/python bench/bulk.py

# The same at 100,000 reports in 10 and 5 partitions, printed (BENCHMARKS.md untouched).
bench-bulk-quick: $(READY)
	$(BIN)/python bench/bulk.py --quick

# `kratom-ae bulk background` of the same 1,000,000 SYNTHETIC reports in 100 and in 25
# partitions, then --cases; the count queries of `signals --background local` on that store;
# ebgm.fit on SYNTHETIC drug-by-event tables, extrapolated to all of FAERS; writes its section
# of BENCHMARKS.md (about half an hour; the data made once, as for bench-bulk).
bench-background: $(READY)
	$(BIN)/python bench/background.py

# The same at 100,000 reports in 10 and 5 partitions, printed (BENCHMARKS.md untouched).
bench-background-quick: $(READY)
	$(BIN)/python bench/background.py --quick

# A fetch of 100,000 benchmark reports, pacing off, with the production memory limits, then the
# same fetch again into its database: fails unless every report is held; prints reports/s and
# peak memory (a few minutes the first time, while bench/data.py makes the pages). BENCHMARKS.md
# is left alone.
bench-quick: $(READY)
	$(BIN)/python bench/run.py --quick

# Re-make the synthetic cassettes; record real ones against api.fda.gov (needs the network).
cassettes: $(READY)
	$(BIN)/python tests/record_cassettes.py
cassettes-live: $(READY)
	$(BIN)/python tests/record_cassettes.py --live

$(READY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e '.[test]'
	touch $(READY)

clean:
	rm -rf $(VENV) *.egg-info demo.duckdb demo-report
