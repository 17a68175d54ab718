"""make snapshot: archive results under a label, never overwrite, refuse failed runs."""

from __future__ import annotations

import hashlib

import pytest

from fcrnpipe import provenance as prov
from fcrnpipe.errors import UserError
from fcrnpipe.snapshot import snapshot_results


def _results(tmp_path, outcome="success"):
    res = tmp_path / "results"
    (res / "adam").mkdir(parents=True)
    (res / "adam" / "adsl.csv").write_text("USUBJID\nS1\n")
    prov.append_ledger(res / "provenance" / prov.LEDGER_NAME, {"run_id": "r1", "outcome": outcome})
    return res


def test_snapshot_copies_results_with_checksums(tmp_path):
    res = _results(tmp_path)
    target = snapshot_results(res, "cut-1", tmp_path / "snaps")
    assert (target / "adam" / "adsl.csv").read_text() == "USUBJID\nS1\n"
    sums = (target / "SHA256SUMS").read_text()
    digest = hashlib.sha256(b"USUBJID\nS1\n").hexdigest()
    assert f"{digest}  adam/adsl.csv" in sums


def test_snapshot_refuses_existing_label_bad_label_and_failed_run(tmp_path):
    res = _results(tmp_path)
    snapshot_results(res, "cut-1", tmp_path / "snaps")
    with pytest.raises(UserError, match="exists already"):
        snapshot_results(res, "cut-1", tmp_path / "snaps")
    with pytest.raises(UserError, match="label"):
        snapshot_results(res, "../evil", tmp_path / "snaps")
    failed = _results(tmp_path / "f", outcome="failure")
    with pytest.raises(UserError, match="did not succeed"):
        snapshot_results(failed, "cut-2", tmp_path / "snaps")
