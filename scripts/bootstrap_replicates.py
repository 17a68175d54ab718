#!/usr/bin/env python
"""Refit chosen bootstrap replicates of a finished run, e.g. to see why one failed.

    .venv/bin/python scripts/bootstrap_replicates.py --replicates 83,113,128 [--results results]
        [--config config/config.yaml] [--out FILE.csv]

Reads the run's modelling dataset and final fits (results/pkpd/nm_dataset.csv, pkpd/pk/,
pkpd/pd/) and the bootstrap settings of the config (seed, max_evaluations, search_range,
restarts), refits the replicates exactly as the pkpd_bootstrap_chunk rule does and writes
their rows (the columns of pkpd/bootstrap.csv) to FILE or standard output. Set
``OPENBLAS_CORETYPE`` to compare BLAS kernels (see README, "Determinism").
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import yaml

from fcrnpipe.errors import UserError
from fcrnpipe.pkpd.stage import FIT_FILES, bootstrap_replicates
from fcrnpipe.tableio import write_csv

NAMES = {"fit": "fit.json", "population": "population_parameters.csv", "individual": "individual_parameters.csv",
         "predictions": "predictions.csv", "summary": "fit_summary.json"}


def parse_replicates(text: str) -> list[int]:
    try:
        reps = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--replicates {text!r}: expected comma-separated replicate numbers, e.g. 83,113") from None
    if not reps or min(reps) < 1:
        raise UserError(f"--replicates {text!r}: replicate numbers start at 1")
    return reps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replicates", required=True, help="comma-separated replicate numbers (1-based)")
    ap.add_argument("--results", default="results", help="results folder of a finished run (default: results)")
    ap.add_argument("--config", default="config/config.yaml", help="config of that run (seed and bootstrap settings)")
    ap.add_argument("--out", help="CSV file to write (default: standard output)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        reps = parse_replicates(args.replicates)
        cfg = yaml.safe_load(Path(args.config).read_text(encoding="utf-8"))
        boot = cfg["pkpd"]["bootstrap"]
        pkpd = Path(args.results) / "pkpd"
        dirs = {part: {k: str(pkpd / part / NAMES[k]) for k in FIT_FILES} for part in ("pk", "pd")}
        missing = [p for d in dirs.values() for p in d.values() if not Path(p).is_file()]
        if missing or not (pkpd / "nm_dataset.csv").is_file():
            raise UserError(f"{pkpd}: not a finished PK/PD fit (missing {', '.join(missing[:3]) or 'nm_dataset.csv'}); "
                            "run the pipeline first")
        options = {k: boot[k] for k in ("max_evaluations", "search_range") if k in boot}
        table = bootstrap_replicates(str(pkpd / "nm_dataset.csv"), dirs["pk"], dirs["pd"], reps,
                                     seed=int(cfg["seeds"]["bootstrap"]), options=options,
                                     restarts=int(boot.get("restarts", 1)), stratify_on=boot.get("stratify_on"))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        write_csv(table, args.out)
    else:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
