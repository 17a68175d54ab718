#!/usr/bin/env python3
"""Archive a completed run's results under a data-cut label (``make snapshot LABEL=...``).

Copies the results folder to ``snapshots/<label>/`` with a ``SHA256SUMS`` file, after
checking that the last run recorded in the ledger succeeded. An existing label is never
overwritten, so earlier results are not lost silently.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fcrnpipe.errors import UserError
from fcrnpipe.snapshot import snapshot_results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results", help="results folder of the run (default: results)")
    ap.add_argument("--label", required=True, help="data-cut label, e.g. 2022-03-cut")
    ap.add_argument("--dest", default="snapshots", help="where snapshots are kept (default: snapshots)")
    args = ap.parse_args(argv)
    try:
        target = snapshot_results(Path(args.results), args.label, Path(args.dest))
    except UserError as exc:
        print(f"snapshot: {exc}", file=sys.stderr)
        return 1
    print(f"snapshot written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
