"""Fault injection: damage a real library one way per test, then check that every affected
command fails clearly (or copes), that nothing else is lost, and that `doctor --repair` plus
`index` bring back vectors == clips and the same search answers as before the damage."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.reliability.conftest import answers, index, run_cli, search, snapshot, status
from vsearch.errors import LibraryError, OutputError


def one_array(library: Path, kind: str) -> Path:
    """The stored array of one video ("embeddings" or "features")."""
    return sorted((library / kind).rglob("*.npy"))[0]


def truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)


def doctor(library: Path, *extra: str) -> tuple[int, dict]:
    result = run_cli("doctor", "--library", library, "--json", *extra)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def assert_restored(damaged: dict) -> None:
    """`doctor --repair` then `index` give back a healthy library with the old answers."""
    library = damaged["library"]
    code, report = doctor(library, "--repair")
    assert code == 0, report
    assert doctor(library)[0] == 0
    indexed = index(library, damaged["videos"])
    assert indexed.exit_code == 0, indexed.output
    state = status(library)
    assert state["vectors"] == state["clips"] > 0
    assert state["videos"] == 3
    assert answers(search(library)) == damaged["answers"]


# -- the catalogue ------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["empty", "half"])
def test_a_truncated_catalogue_is_damage_that_names_doctor_never_a_new_library(damaged, keep):
    library = damaged["library"]
    catalog = library / "catalog.sqlite"
    arrays_before = snapshot(library / "embeddings")
    truncate(catalog, 0 if keep == "empty" else catalog.stat().st_size // 2)
    for command in (["status"], ["ls"], ["history"], ["search", "x", "--grounding", "zero-shot"],
                    ["index", str(damaged["videos"])]):  # fmt: skip
        result = run_cli(*command, "--library", library)
        assert result.exit_code == LibraryError.exit_code, (command, result.output)
        assert "doctor" in result.stderr and "Traceback" not in result.output
    code, report = doctor(library)
    assert code == LibraryError.exit_code
    assert [f["area"] for f in report["findings"]] == ["catalogue"]
    assert not report["findings"][0]["repairable"]
    assert snapshot(library / "embeddings") == arrays_before  # nothing else lost
    if keep == "empty":
        assert catalog.stat().st_size == 0  # not silently re-created


# -- the vector index ---------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_broken_vector_index_blocks_nothing_after_doctor_repair(damaged, damage):
    library = damaged["library"]
    [faiss_file] = (library / "vectors").glob("index-*.faiss")
    if damage == "truncate":
        truncate(faiss_file, faiss_file.stat().st_size // 2)
    else:
        faiss_file.unlink()
    for result in (search(library), index(library, damaged["videos"])):
        assert result.exit_code == LibraryError.exit_code, result.output
        assert "doctor --repair" in result.stderr
    code, report = doctor(library)
    assert code == LibraryError.exit_code
    assert [f["area"] for f in report["findings"]] == ["vectors"]
    assert report["findings"][0]["repairable"]
    assert_restored(damaged)


def test_a_vector_index_missing_vectors_is_found_and_rebuilt(damaged):
    library = damaged["library"]
    shutil.rmtree(library / "vectors")
    code, report = doctor(library)
    assert code == LibraryError.exit_code and report["findings"][0]["area"] == "vectors"
    assert_restored(damaged)


# -- per-video arrays ---------------------------------------------------------------------------


def test_a_truncated_embeddings_array_is_skipped_by_search_and_re_encoded_by_index(damaged):
    library = damaged["library"]
    broken = one_array(library, "embeddings")
    truncate(broken, broken.stat().st_size // 2)
    features_before = snapshot(library / "features")

    result = search(library)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert any("skipped 1 video" in note and "doctor" in note for note in document["notes"])

    code, report = doctor(library)
    assert code == LibraryError.exit_code
    assert [f["area"] for f in report["findings"]] == ["arrays"]
    assert snapshot(library / "features") == features_before

    indexed = index(library, damaged["videos"])  # index alone repairs it
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["indexed"] == 1
    state = status(library)
    assert state["vectors"] == state["clips"]
    assert answers(search(library)) == damaged["answers"]
    assert doctor(library)[0] == 0


def test_a_truncated_features_array_is_found_and_repaired(damaged):
    library = damaged["library"]
    broken = one_array(library, "features")
    truncate(broken, 100)
    code, report = doctor(library)
    assert code == LibraryError.exit_code
    [finding] = report["findings"]
    assert finding["area"] == "arrays" and "features" in finding["problem"]
    assert_restored(damaged)
    assert status(library)["removed"] == 0  # re-indexed, not forgotten


def test_orphaned_and_temporary_files_are_reported_and_deleted(damaged):
    library = damaged["library"]
    stray = one_array(library, "embeddings").with_name("p1-0-orphan.npy")
    stray.write_bytes(b"left behind")
    partial = library / "vectors" / ".index-000009.partial-abc.faiss"
    partial.write_bytes(b"interrupted save")
    code, report = doctor(library)
    assert code == LibraryError.exit_code
    assert [f["area"] for f in report["findings"]] == ["orphans"]
    assert doctor(library, "--repair")[0] == 0
    assert not stray.exists() and not partial.exists()
    assert answers(search(library)) == damaged["answers"]


# -- source videos ------------------------------------------------------------------------------


def test_results_from_a_deleted_source_are_marked_and_can_be_skipped(tmp_path):
    from tests.reliability.conftest import write_videos

    videos = write_videos(tmp_path / "videos")
    library = tmp_path / "library"
    assert index(library, tmp_path / "videos").exit_code == 0
    found = {row[0] for row in answers(search(library, "--per-video", "10", "--top", "50"))}
    assert len(found) == 3
    gone = videos[0]
    gone.unlink()

    document = json.loads(search(library, "--per-video", "10", "--top", "50").stdout)
    flags = {r["video"]: r["missing"] for r in document["results"]}
    assert flags[str(gone)] is True and sum(flags.values()) == 1
    table = run_cli("show", document["id"], "--library", library)
    assert table.exit_code == 0
    marked = [line for line in table.stdout.splitlines() if "[missing]" in line]
    assert marked and all(str(gone) in line for line in marked)

    kept = answers(search(library, "--per-video", "10", "--top", "50", "--skip-missing"))
    assert kept and str(gone) not in {row[0] for row in kept}


# -- a read-only library ------------------------------------------------------------------------


@pytest.fixture()
def read_only(damaged):
    """The library made read-only for this process: immutable files for root (whom permission
    bits do not stop), permission bits for anyone else."""
    library = damaged["library"]
    paths = [library, *library.rglob("*")]
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make files immutable here: {done.stderr.decode().strip()}")
        yield damaged
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in paths}
        for p in paths:
            p.chmod(modes[p] & ~0o222)
        yield damaged
        for p in reversed(paths):
            p.chmod(modes[p])


def test_a_read_only_library_serves_reads_and_says_indexing_needs_write_access(read_only):
    library = read_only["library"]
    before = snapshot(library)
    assert status(library)["videos"] == 3
    assert run_cli("ls", "--library", library).exit_code == 0
    history = run_cli("history", "--library", library, "--json")
    assert history.exit_code == 0
    [stored] = json.loads(history.stdout)
    assert run_cli("show", stored["id"], "--library", library).exit_code == 0
    result = search(library)
    assert answers(result) == read_only["answers"]
    assert any("read-only" in note for note in json.loads(result.stdout)["notes"])
    refused = index(library, read_only["videos"])
    assert refused.exit_code == LibraryError.exit_code
    assert "read-only" in refused.stderr and "write access" in refused.stderr
    assert doctor(library)[0] == 0
    assert snapshot(library) == before


# -- outputs that must not be replaced ----------------------------------------------------------


@pytest.fixture()
def stored_id(damaged) -> str:
    return json.loads(search(damaged["library"]).stdout)["id"]


def export(library: Path, result_id: str, out: Path, *extra: str):
    return run_cli("export", result_id, "-o", out, "--library", library, *extra)


def test_force_never_replaces_the_catalogue_or_anything_in_a_library(damaged, stored_id):
    library = damaged["library"]
    catalog = library / "catalog.sqlite"
    before = catalog.read_bytes()
    for target in (catalog, library / "new.csv", library / "vectors" / "index.json"):
        result = export(library, stored_id, target, "--format", "csv", "--force")
        assert result.exit_code == OutputError.exit_code, result.output
        assert "inside the library" in result.stderr
    thumbs = run_cli("thumbs", stored_id, "-o", library / "sheet.png", "--library", library,
                     "--force")  # fmt: skip
    assert thumbs.exit_code == OutputError.exit_code and "inside the library" in thumbs.stderr
    assert catalog.read_bytes() == before and not (library / "new.csv").exists()
    assert status(library)["videos"] == 3


def test_force_refuses_directories_and_links_to_them(damaged, stored_id, tmp_path):
    library = damaged["library"]
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    link = tmp_path / "link.csv"
    link.symlink_to(folder)
    for target, says in ((folder, "a directory"), (link, "links to a directory")):
        result = export(library, stored_id, target, "--format", "csv", "--force")
        assert result.exit_code == OutputError.exit_code, result.output
        assert says in result.stderr
    assert (folder / "keep.txt").read_text() == "mine" and link.is_symlink()


def test_force_follows_a_link_to_a_regular_file_and_keeps_the_link(damaged, stored_id, tmp_path):
    library = damaged["library"]
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = export(library, stored_id, link, "--force")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text().startswith("video,start_s")


def test_force_refuses_a_device_node(damaged, stored_id, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mknod of a character device needs root")
    device = tmp_path / "device.csv"
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # a private null device
    result = export(damaged["library"], stored_id, device, "--format", "csv", "--force")
    assert result.exit_code == OutputError.exit_code, result.output
    assert "a device" in result.stderr
    assert stat.S_ISCHR(device.lstat().st_mode)
