"""Command-line front end of the estimator (``scripts/fit_nlme.py``).

Example (Theoph validation)::

    .venv/bin/python scripts/fit_nlme.py --data tests/data/theoph_nm.csv --model oral1cmt \\
        --param ssfol --error additive --out results/theoph

Sequential PK -> PD::

    scripts/fit_nlme.py --data nm.csv --model sc1cmt_mm --error proportional --blq M3 --out fit_pk
    scripts/fit_nlme.py --data nm.csv --model igg_turnover --pd-on fit_pk --error proportional --out fit_pd

The steroid (IVMP) suppression of IgG synthesis used by the PD models is read from
``--config`` (``pkpd.steroid_suppression``; default ``config/config.yaml`` when it exists),
or given with ``--steroid FRACTION,DECAY_PER_DAY,START_DAY``, or switched off with
``--no-steroid``. ``START_DAY`` is a study day (1 = the day of dataset time 0).

Covariate relations (power models on log-scale parameters, docs/nlme.md)::

    scripts/fit_nlme.py --data nm.csv --model sc1cmt_mm --covariate CL:WT:70:0.75 \
        --covariate V:WT:70:1:estimate --out fit_pk
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcrnpipe.errors import UserError
from fcrnpipe.models import MODEL_NAMES, make_model
from fcrnpipe.models.mab import PK_PARAMS, Steroid
from fcrnpipe.nlme.dataset import read_nm_dataset
from fcrnpipe.nlme.errormodel import KINDS, ErrorModel
from fcrnpipe.nlme.estimate import FitOptions, fit
from fcrnpipe.nlme.results import write_outputs
from fcrnpipe.nlme.spec import CovariateRelation, PopulationModel

if TYPE_CHECKING:  # pandas only for --pd-on: a plain fit runs without it (start-up cost, docs/nlme.md)
    import pandas as pd

log = logging.getLogger("fcrnpipe.nlme")


def _pairs(text: str | None, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if not text:
        return out
    for item in text.split(","):
        if "=" not in item:
            raise UserError(f"--{what}: expected NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise UserError(f"--{what}: {v!r} is not a number") from None
    return out


def parse_covariate(text: str) -> CovariateRelation:
    """``PARAM:COVARIATE:REFERENCE:EXPONENT[:estimate]`` (e.g. ``CL:WT:70:0.75``)."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (4, 5) or (len(parts) == 5 and parts[4] != "estimate"):
        raise UserError(f"--covariate: expected PARAM:COVARIATE:REFERENCE:EXPONENT[:estimate], got {text!r}")
    try:
        ref, exponent = float(parts[2]), float(parts[3])
    except ValueError:
        raise UserError(f"--covariate {text!r}: the reference and the exponent must be numbers") from None
    try:
        return CovariateRelation(parts[0], parts[1].upper(), ref, exponent, len(parts) == 5)
    except ValueError as exc:
        raise UserError(f"--covariate {text!r}: {exc}") from None


def parse_errors(text: str, cmts: tuple[int, ...]) -> dict[int, ErrorModel]:
    """``proportional`` (all outputs) or ``2:proportional,3:additive``."""
    if ":" not in text:
        if text not in KINDS:
            raise UserError(f"--error: {text!r} is not one of {', '.join(KINDS)}")
        return {c: ErrorModel(text) for c in cmts}
    out: dict[int, ErrorModel] = {}
    for item in text.split(","):
        c, k = item.split(":", 1)
        if k not in KINDS:
            raise UserError(f"--error: {k!r} is not one of {', '.join(KINDS)}")
        out[int(c)] = ErrorModel(k)
    missing = [c for c in cmts if c not in out]
    if missing:
        raise UserError(f"--error: no error model given for output compartment(s) {missing}")
    return out


def load_steroid(args: argparse.Namespace) -> Steroid | None:
    if args.no_steroid:
        return None
    if args.steroid:
        try:
            f, k, d = (float(v) for v in args.steroid.split(","))
        except ValueError:
            raise UserError("--steroid: expected FRACTION,DECAY_PER_DAY,START_DAY") from None
        return Steroid.from_config({"fraction": f, "decay_per_day": k, "start_day": d})
    cfg = Path(args.config) if args.config else Path("config/config.yaml")
    if not cfg.is_file():
        if args.config:
            raise UserError(f"{cfg}: configuration file not found")
        return None
    import yaml

    with open(cfg, encoding="utf-8") as fh:
        conf = yaml.safe_load(fh)
    try:
        return Steroid.from_config(conf["pkpd"]["steroid_suppression"])
    except (KeyError, TypeError):
        raise UserError(f"{cfg}: pkpd.steroid_suppression (fraction, decay_per_day, start_day) not found") from None


def load_pk_fit(folder: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Individual and typical PK parameters of a ``sc1cmt_mm`` fit folder."""
    import pandas as pd

    d = Path(folder)
    ind_path, pop_path, sum_path = d / "individual_parameters.csv", d / "population_parameters.csv", d / "fit_summary.json"
    for p in (ind_path, pop_path, sum_path):
        if not p.is_file():
            raise UserError(f"--pd-on: {p} not found (expected the output folder of a sc1cmt_mm fit)")
    summ = json.loads(sum_path.read_text(encoding="utf-8"))
    if summ.get("model") != "sc1cmt_mm":
        raise UserError(f"--pd-on: {sum_path} is a {summ.get('model')!r} fit; the PD model needs a sc1cmt_mm fit")
    ind = pd.read_csv(ind_path, dtype={"ID": str})
    names = [p.name for p in PK_PARAMS]
    miss = [n for n in ["ID"] + names if n not in ind.columns]
    if miss:
        raise UserError(f"--pd-on: {ind_path} lacks column(s) {', '.join(miss)}")
    pop = pd.read_csv(pop_path)
    typical = {}
    for n in names:
        row = pop[(pop["parameter"] == n) & (pop["kind"] == "fixed")]
        if row.empty:
            raise UserError(f"--pd-on: {pop_path} has no fixed-effect row {n!r}")
        typical[n] = float(row["estimate"].iloc[0])
    return ind[["ID"] + names], typical


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="Population PK/PD fit (FOCE-I) of a NONMEM-style dataset.")
    ap.add_argument("--data", required=True, help="NONMEM-style CSV (ID, TIME[h], AMT, DV, EVID, MDV, CMT, BLQ, LLOQ, ...)")
    ap.add_argument("--model", required=True, choices=MODEL_NAMES)
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--error", default="proportional", help="additive|proportional|combined, or CMT:KIND,... per output")
    ap.add_argument("--blq", default="M1", choices=["M1", "M3"])
    ap.add_argument("--omega", default="diag", choices=["diag", "block"])
    ap.add_argument("--pd-on", dest="pd_on", help="PK fit folder whose individual PK drives the PD (igg_turnover)")
    ap.add_argument("--param", default="standard", choices=["standard", "ssfol"], help="oral1cmt parameterisation")
    ap.add_argument("--iiv", help="comma-separated parameters with a random effect (default: the model's)")
    ap.add_argument("--fix", help="NAME=VALUE,... structural parameters held fixed (natural scale)")
    ap.add_argument("--init", help="NAME=VALUE,... initial values (natural scale)")
    ap.add_argument("--covariance", default="hessian", choices=["hessian", "sandwich", "none"])
    ap.add_argument("--covariate", action="append", default=[],
                    help="PARAM:COVARIATE:REFERENCE:EXPONENT[:estimate] power-model relation (repeatable)")
    ap.add_argument("--config", help="pipeline config with pkpd.steroid_suppression (default config/config.yaml)")
    ap.add_argument("--steroid", help="FRACTION,DECAY_PER_DAY,START_DAY (overrides --config)")
    ap.add_argument("--no-steroid", action="store_true", help="no steroid effect on IgG synthesis")
    return ap


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, fit, write the outputs; returns the summary extras."""
    t0 = time.perf_counter()
    args = build_parser().parse_args(argv)
    data = read_nm_dataset(args.data)
    steroid = load_steroid(args) if args.model in ("igg_turnover", "sc1cmt_mm+igg_turnover") else None
    pk_ind = pk_typ = None
    if args.model == "igg_turnover":
        if not args.pd_on:
            raise UserError("--model igg_turnover needs --pd-on PK_FIT_DIR (sequential fit); use sc1cmt_mm+igg_turnover for a simultaneous fit")
        pk_ind, pk_typ = load_pk_fit(args.pd_on)
    elif args.pd_on:
        raise UserError("--pd-on is only for --model igg_turnover")
    if args.param != "standard" and args.model != "oral1cmt":
        raise UserError("--param applies to --model oral1cmt only")
    model = make_model(args.model, parameterisation=args.param, steroid=steroid, pk_individual=pk_ind, pk_typical=pk_typ)
    iiv = tuple(s.strip() for s in args.iiv.split(",") if s.strip()) if args.iiv else model.default_iiv()
    fixed = _pairs(args.fix, "fix")
    iiv = tuple(n for n in iiv if n not in fixed)
    try:
        pm = PopulationModel(
            model=model,
            iiv=iiv,
            errors=parse_errors(args.error, model.output_cmts),
            omega=args.omega,
            fixed=fixed,
            init=_pairs(args.init, "init"),
            blq=args.blq,
            covariates=tuple(parse_covariate(c) for c in args.covariate),
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result = fit(data, pm, FitOptions(covariance=args.covariance))
    extra: dict[str, Any] = {"data": Path(args.data).name}
    if steroid is not None:
        extra["steroid_suppression"] = {
            "fraction": steroid.fraction,
            "decay_per_day": steroid.decay_per_day,
            "start_model_day": steroid.start_day,
        }
    if args.pd_on:
        extra["pk_fit"] = Path(args.pd_on).name
    write_outputs(result, args.out, extra, timing={"process_s": time.perf_counter() - t0})
    conv = "converged" if result.optimizer["converged"] else "NOT converged"
    cov = result.covariance
    cov_txt = "not run" if cov is None else ("ok" if cov.ok else "FAILED: " + cov.message)
    log.info("%s: OFV %.4f, logLik %.4f, %s, covariance step %s", model.name, result.ofv, result.loglik, conv, cov_txt)
    if cov is not None and not cov.ok:
        log.warning("covariance step failed: %s", cov.message)
    return extra


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        run(argv)
    except UserError as exc:
        logging.getLogger("fcrnpipe").error("%s", exc)
        return 1
    return 0
