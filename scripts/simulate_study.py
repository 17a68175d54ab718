"""Write a simulated data cut (the raw exports dm.csv ... ds.csv) from the mechanistic model.

Defaults reproduce the committed reference cut (9 subjects, seed = config seeds.simulation)::

    .venv/bin/python scripts/simulate_study.py --out resources/reference_study/raw
    .venv/bin/python scripts/simulate_study.py --out /tmp/big --subjects 1000 --seed 7 --truth /tmp/big/truth.json
    .venv/bin/python scripts/simulate_study.py --out /tmp/real --subjects 300 --realistic

``--truth FILE.json`` also writes the true population and individual parameters (JSON) and the
individual parameters as CSV next to it (``FILE.csv``).

``--realistic`` writes a cut shaped like a real SDTM export (:mod:`fcrnpipe.simulate.realistic`):
a placebo arm, screen failures, DS milestones, other lab panels incl. categorical urinalysis,
blood pressure/pulse by position and time point, a second questionnaire, AESEV instead of
AETOXGR, CDISC unit spellings. ``--subjects`` counts the subjects assigned to an arm (screen
failures come on top). It also writes ``study_config.yaml`` into the cut: the config keys the cut
needs on top of config/config.yaml (the placebo arm), for
``snakemake --configfile config/config.yaml <cut>/study_config.yaml --config raw_dir=<cut>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from fcrnpipe.errors import UserError
from fcrnpipe.simulate import simulate_study, write_raw
from fcrnpipe.simulate.findings import calibration_table, markdown_table, read_raw
from fcrnpipe.simulate.realistic import config_overlay, simulate_realistic
from fcrnpipe.units import load_unit_table
from fcrnpipe.tableio import write_csv, write_json

ROOT = Path(__file__).resolve().parents[1]


def write_realistic(config: dict, args: argparse.Namespace) -> int:
    """``--realistic``: the cut and its ``study_config.yaml``."""
    if args.subjects < 3:
        raise UserError(f"--realistic needs at least 3 subjects (two active, one placebo), got {args.subjects}")
    cut = simulate_realistic(config, n_subjects=args.subjects, seed=args.seed)
    write_raw(cut.tables, args.out)
    label = f"realistic simulated cut ({args.subjects} subjects, seed {cut.seed})"
    overlay = Path(args.out) / "study_config.yaml"
    with open(overlay, "w", encoding="utf-8", newline="\n") as fh:
        yaml.safe_dump(config_overlay(config, label), fh, sort_keys=False, allow_unicode=True)
    counts = ", ".join(f"{d.upper()} {n:,}" for d, n in cut.counts().items())
    print(
        f"wrote a realistic cut to {args.out}: {cut.n_active} active + {cut.n_placebo} placebo subjects, "
        f"{cut.n_screen_failures} screen failures (seed {cut.seed}); rows: {counts}; config overlay {overlay}"
    )
    return 0


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
        "--realistic",
        action="store_true",
        help="a cut shaped like a real export (placebo arm, screen failures, other panels and instruments)",
    )
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
        if args.realistic:
            if args.truth or args.calibration:
                raise UserError("--truth and --calibration are for the mechanistic cut, not --realistic")
            return write_realistic(config, args)
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
