"""Archiving a completed run's results under a data-cut label."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fcrnpipe.errors import UserError
from fcrnpipe.provenance import LEDGER_NAME, hash_tree, read_ledger

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def snapshot_results(results: Path, label: str, dest: Path) -> Path:
    """Copy ``results`` to ``dest/label`` with a SHA256SUMS file; return the snapshot folder.

    Refuses an unsafe or already used label, a results folder without a ledger, and a
    results folder whose last recorded run did not succeed.
    """
    if not label or not _LABEL.match(label):
        raise UserError(f"label {label!r} must be letters, digits, '.', '_' or '-' (e.g. 2022-03-cut)")
    ledger = read_ledger(results / "provenance" / LEDGER_NAME)
    if not ledger:
        raise UserError(f"{results} has no run ledger (provenance/{LEDGER_NAME}): run the pipeline first")
    if ledger[-1].get("outcome") != "success":
        raise UserError(f"the last run recorded in {results} did not succeed ({ledger[-1].get('run_id')}); "
                        "fix it before taking a snapshot")
    target = dest / label
    if target.exists():
        raise UserError(f"snapshot {target} exists already; choose another label")
    shutil.copytree(results, target)
    sums = hash_tree(target)
    (target / "SHA256SUMS").write_text("".join(f"{h}  {p}\n" for p, h in sums.items()), encoding="utf-8")
    return target
