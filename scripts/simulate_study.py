"""Write a simulated data cut (the raw exports dm.csv ... ds.csv) from the mechanistic model.

Defaults reproduce the committed reference cut (9 subjects, seed = config seeds.simulation)::

    .venv/bin/python scripts/simulate_study.py --out resources/reference_study/raw
    .venv/bin/python scripts/simulate_study.py --out /tmp/big --subjects 1000 --seed 7 --truth /tmp/big/truth.json

``--truth FILE.json`` also writes the true population and individual parameters (JSON) and the
individual parameters as CSV next to it (``FILE.csv``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from fcrnpipe.errors import UserError
from fcrnpipe.simulate import simulate_study, write_raw
from fcrnpipe.simulate.findings import calibration_table, markdown_table, read_raw
from fcrnpipe.units import load_unit_table
from fcrnpipe.tableio import write_csv, write_json

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for dm.csv ... ds.csv")
    parser.add_argument("--subjects", type=int, default=9, help="number of subjects (default 9 = the reference study)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: config seeds.simulation)")
    parser.add_argument(
        "--allocation",
        choices=["published", "even"],
        default="published",
        help="arm split for other sizes: published 2:7 ratio (default) or even",
    )
    parser.add_argument("--truth", default=None, help="write the true parameters to this .json (+ .csv of individuals)")
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument(
        "--calibration",
        action="store_true",
        help="print the published findings versus the simulated cut (Markdown table)",
    )
    args = parser.parse_args(argv)
    try:
        if args.subjects < 2:
            raise UserError(f"--subjects must be at least 2 (one per arm), got {args.subjects}")
        with open(args.config, encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
        study = simulate_study(config, n_subjects=args.subjects, seed=args.seed, allocation=args.allocation)
        write_raw(study.tables, args.out)
        if args.calibration:
            table = calibration_table(read_raw(args.out), load_unit_table(ROOT / "resources" / "units.csv"))
            print(markdown_table(table), end="")
        if args.truth:
            truth = Path(args.truth)
            write_json(study.truth(), truth.with_suffix(".json"))
            write_csv(study.individual, truth.with_suffix(".csv"))
    except UserError as exc:
        print(f"simulate_study: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {study.design.n_subjects} subjects (seed {study.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
