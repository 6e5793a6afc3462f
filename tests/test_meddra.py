"""Loading a MedDRA release (a SYNTHETIC fixture in the real file layout) and the tables that
use it: reactions by primary SOC, and skin by the whole SOC."""

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import oracle
from kratom_ae.cli.main import app

runner = CliRunner()
FIXTURE = Path(__file__).parent / "fixtures" / "meddra_synthetic"
# The fixture's skin SOC: its PT names and the LLTs "Hyperpigmentation" and "Itching", in
# MedDRA's spelling (how the tables show them once MedDRA is loaded), and their term keys (any
# spelling a report uses: "BEAU^S LINES", "Beau's lines", "SKIN HYPERPIGMENTATION").
SKIN_NAMES = {"Pruritus", "Rash", "Skin discolouration", "Skin hyperpigmentation", "Pigmentation disorder", "Hyperhidrosis", "Urticaria", "Erythema",
              "Café-au-lait spots", "Beau's lines", "Hyperpigmentation", "Itching"}
FIXTURE_SKIN = {oracle.term(name) for name in SKIN_NAMES}
FIXTURE_GI = {"NAUSEA", "VOMITING", "CROHN'S DISEASE"}


@pytest.fixture
def base_db(fetched_db):
    return fetched_db


@pytest.fixture
def db(base_db, tmp_path):
    copy = tmp_path / "kratom.duckdb"
    shutil.copy(base_db, copy)
    return copy


def load(db, folder=FIXTURE, *extra):
    return runner.invoke(app, ["meddra", "load", str(folder), "--db", str(db), *extra])


def rows(db, *args):
    result = runner.invoke(app, ["query", *args, "--db", str(db), "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_load_reads_the_release(db):
    result = load(db)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"Loaded MedDRA 99.0: 7 SOCs, 18 preferred terms, 20 lowest level terms into {db}."
    con = duckdb.connect(str(db), read_only=True)
    terms = dict(con.execute("SELECT term, soc_name FROM meddra_terms").fetchall())
    assert con.execute("SELECT term_name FROM meddra_terms WHERE term = 'BEAU''S LINES'").fetchone()[0] == "Beau's lines"
    assert terms["HYPERPIGMENTATION"] == "Skin and subcutaneous tissue disorders"  # through the LLT
    assert terms["CAFÉ-AU-LAIT SPOTS"] == "Skin and subcutaneous tissue disorders"  # Latin-1 decoded
    assert terms["CELLULITIS"] == "Infections and infestations"  # the primary SOC, not the secondary skin path
    assert terms["INJECTION SITE RASH"] == "General disorders and administration site conditions"
    assert con.execute("SELECT count(*) FROM meddra_hier WHERE primary_soc_fg = 'N'").fetchone()[0] == 1
    con.close()


def test_reload_replaces_the_release(db):
    assert load(db).exit_code == 0
    assert load(db).exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM meddra_pt").fetchone()[0] == 18
    con.close()


def test_reactions_by_soc(db):
    assert load(db).exit_code == 0
    table = {r["soc_name"]: r for r in rows(db, "reactions", "--by", "soc")}
    scoped = oracle.scope(oracle.all_reports())
    skin = [r for r in scoped if r.reactions & FIXTURE_SKIN]
    gi = [r for r in scoped if r.reactions & FIXTURE_GI]
    assert int(table["Skin and subcutaneous tissue disorders"]["reports"]) == len(skin)
    assert int(table["Skin and subcutaneous tissue disorders"]["fatal_reports"]) == sum(r.death for r in skin)
    assert int(table["Gastrointestinal disorders"]["reports"]) == len(gi)
    assert table["Gastrointestinal disorders"]["term_list"] == "Crohn's disease; Nausea; Vomiting"  # openFDA's caret matched to the apostrophe
    assert table["General disorders and administration site conditions"]["term_list"] == "Injection site rash"
    not_found = table["(not found in loaded MedDRA)"]
    mapped = FIXTURE_SKIN | FIXTURE_GI | {"DRUG DEPENDENCE", "SEIZURE", "CELLULITIS", "INJECTION SITE RASH", "DRUG-INDUCED LIVER INJURY"}
    unmapped = sorted({t for r in scoped for t in r.reactions} - mapped)
    assert not_found["term_list"].split("; ") == unmapped
    assert int(not_found["terms"]) == len(unmapped) and "DEATH" in unmapped
    assert list(table)[-1] == "(not found in loaded MedDRA)"


def test_skin_uses_the_whole_soc_once_loaded(db):
    assert load(db).exit_code == 0
    for args, filters in [([], {}), (["--source", "faers", "--role", "suspect"], {"source": "faers", "role": "suspect"})]:
        table = rows(db, "skin", *args)
        scoped = oracle.scope(oracle.all_reports(), **filters)
        assert int(table[0]["reports"]) == sum(bool(r.reactions & FIXTURE_SKIN) for r in scoped)
        assert {r["skin_basis"] for r in table} == {"MedDRA primary SOC"}
        # Each term once, in MedDRA's spelling, counted over every spelling the reports use.
        per_term = {name: sum(oracle.term(name) in r.reactions for r in scoped) for name in SKIN_NAMES}
        assert table[2]["reaction_pt"] == "(any hyperpigmentation term)"
        assert {r["reaction_pt"]: int(r["reports"]) for r in table[3:]} == {name: n for name, n in per_term.items() if n}
        assert int(next(r for r in table if r["reaction_pt"] == "Beau's lines")["reports"]) > 0
        assert {r["reaction_pt"] for r in table[3:] if r["is_pigmentation"] == "true"} == {"Skin discolouration", "Skin hyperpigmentation", "Pigmentation disorder", "Hyperpigmentation"}


def test_export_includes_soc_table_and_meddra_version(db, tmp_path):
    assert load(db).exit_code == 0
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", str(out), "--db", str(db)]).exit_code == 0
    assert (out / "reactions_by_soc.csv").exists()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["meddra"]["version"] == "99.0"
    assert provenance["skin_terms"].startswith("MedDRA primary SOC")


def test_by_soc_without_meddra(db):
    result = runner.invoke(app, ["query", "reactions", "--by", "soc", "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: The reactions_by_soc table needs MedDRA; load your licensed release with `kratom-ae meddra load DIR` first."


def test_missing_folder(db, tmp_path):
    result = load(db, tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: The MedDRA folder {tmp_path / 'nowhere'} does not exist."


def test_folder_without_the_files(db, tmp_path):
    (tmp_path / "half").mkdir()
    shutil.copy(FIXTURE / "MedAscii" / "pt.asc", tmp_path / "half" / "pt.asc")
    result = load(db, tmp_path / "half")
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: The MedDRA folder {tmp_path / 'half'} lacks soc.asc, llt.asc, mdhier.asc (looked in it and in its MedAscii subfolder)."


def test_unreadable_release_leaves_the_old_one(db):
    assert load(db).exit_code == 0
    result = load(db, FIXTURE, "--encoding", "utf-8")  # the fixture is Latin-1: not valid UTF-8
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot read the MedDRA release in {FIXTURE}:")
    assert "Traceback" not in result.output
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM meddra_terms").fetchone()[0] == 20
    con.close()


def test_meddra_folder_that_is_a_file(tmp_path):
    (tmp_path / "release.zip").write_bytes(b"PK")
    result = CliRunner().invoke(app, ["meddra", "load", str(tmp_path / "release.zip"), "--db", str(tmp_path / "k.duckdb")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: The MedDRA folder {tmp_path / 'release.zip'} is not a folder."
