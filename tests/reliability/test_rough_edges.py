"""What a new user meets first: bad arguments fail before models load, a no-op index needs no
model, readable status, short result ids, tables with headers, `--in` that matches nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.reliability.conftest import QUERY, run_cli, search

PROBE = """
import sys
from click.testing import CliRunner
from vsearch.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
print(result.exit_code, "torch" in sys.modules)
"""


def imports_torch(*args: object) -> tuple[int, bool]:
    """Exit code of the CLI run in a fresh interpreter, and whether torch got imported."""
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    code, torch = done.stdout.split()[-2:]
    return int(code), torch == "True"


def test_status_and_a_no_op_index_never_import_torch(damaged):
    library = damaged["library"]
    assert imports_torch("status", "--library", library) == (0, False)
    assert imports_torch("index", damaged["videos"], "--library", library) == (0, False)


def test_bad_batch_input_fails_before_the_model_loads(damaged, tmp_path):
    library = damaged["library"]
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": 1, "query": "ok"}\nnot json\n')
    missing_weights = ["--clip-weights", tmp_path / "no-such-weights.pt"]  # would fail to load
    bad_line = run_cli("search", "--batch", queries, "--out", tmp_path / "p.jsonl", "--library",
                       library, *missing_weights)  # fmt: skip
    assert bad_line.exit_code == 4 and "q.jsonl:2" in bad_line.stderr
    queries.write_text('{"qid": 1, "query": "ok"}\n')
    existing = tmp_path / "exists.jsonl"
    existing.write_text("mine")
    taken = run_cli("search", "--batch", queries, "--out", existing, "--library", library,
                    *missing_weights)  # fmt: skip
    assert taken.exit_code == 9 and existing.read_text() == "mine"


def test_indexing_a_missing_directory_creates_no_library(tmp_path):
    library = tmp_path / "library"
    result = run_cli("index", tmp_path / "no-such-dir", "--library", library)
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not library.exists()


def test_status_reads_in_human_units_and_json_keeps_numbers(damaged):
    library = damaged["library"]
    text = run_cli("status", "--library", library).stdout
    assert " MB" in text or " KB" in text
    assert "clips/s" in text and " h " in text
    raw = json.loads(run_cli("status", "--library", library, "--json").stdout)
    assert isinstance(raw["disk_bytes"], int) and isinstance(raw["hours"], float)


def test_a_unique_id_prefix_names_a_stored_result(damaged):
    library = damaged["library"]
    first = json.loads(search(library).stdout)["id"]
    shown = run_cli("show", first[:6], "--library", library, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == first
    assert run_cli("show", "zz", "--library", library).exit_code == 6


def test_the_result_table_has_headers_and_one_saliency_scale(damaged):
    from vsearch.search.display import MISSING_MARK, result_table
    from vsearch.search.records import Moment, SearchResult

    library = damaged["library"]
    table = run_cli("search", QUERY, "--grounding", "zero-shot", "--library", library).stdout
    assert table.splitlines()[1].split() == ["#", "score", "span", "saliency", "video"]

    low = Moment(Path("/a.mp4"), 0.0, 4.0, 0.5, (0.0, 0.5))
    high = Moment(Path("/b.mp4"), 0.0, 4.0, 0.4, (0.0, 1.0), missing=True)
    rows = result_table(SearchResult("id", "q", "zero-shot", (low, high)))[2:]
    assert "█" not in rows[0] and "█" in rows[1]  # the weaker row does not reach the top
    assert rows[1].endswith(MISSING_MARK) and not rows[0].endswith(MISSING_MARK)


def test_in_that_matches_nothing_says_so(damaged):
    result = search(damaged["library"], "--in", "*/nowhere/*")
    document = json.loads(result.stdout)
    assert document["results"] == []
    assert any("no indexed video matches --in" in note for note in document["notes"])


def test_a_zero_byte_catalogue_created_by_nothing(tmp_path: Path):
    """A first index run never leaves a 0-byte catalogue for another process to see."""
    from vsearch.storage.catalog import Catalog

    catalog = tmp_path / "lib" / "catalog.sqlite"
    with Catalog.open(catalog) as opened:
        assert opened.schema_version > 0
    assert catalog.stat().st_size > 0
    assert [p.name for p in catalog.parent.iterdir()] == ["catalog.sqlite"]
