"""Library fingerprints that make a library change rerun the rules using it."""

from __future__ import annotations

import pytest

from fcrnpipe.codehash import module_files, source_hash


def _pkg(tmp_path):
    pkg = tmp_path / "fcrnpipe"
    (pkg / "stats").mkdir(parents=True)
    for name in ("errors", "runner", "tableio", "nca"):
        (pkg / f"{name}.py").write_text(f"# {name}\n")
    (pkg / "stats" / "ci.py").write_text("x = 1\n")
    return pkg


def test_hash_changes_only_with_the_modules_it_covers(tmp_path):
    pkg = _pkg(tmp_path)
    stats0, nca0 = source_hash("stats", package_dir=pkg), source_hash("nca", package_dir=pkg)
    (pkg / "stats" / "ci.py").write_text("x = 2\n")
    assert source_hash("stats", package_dir=pkg) != stats0
    assert source_hash("nca", package_dir=pkg) == nca0
    (pkg / "runner.py").write_text("# changed\n")  # core module: every rule
    assert source_hash("nca", package_dir=pkg) != nca0


def test_module_files_and_unknown_module(tmp_path):
    pkg = _pkg(tmp_path)
    assert [p.name for p in module_files("stats", pkg)] == ["ci.py"]
    with pytest.raises(ValueError, match="no module"):
        module_files("nope", pkg)


def test_real_package_hash_is_stable():
    assert source_hash("stats", "tables") == source_hash("tables", "stats")
    assert len(source_hash("derive")) == 16
