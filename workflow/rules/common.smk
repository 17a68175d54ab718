# Shared wiring helpers (docs/architecture.md, the conventions of rules): paths, domains, registry
# entries, the params several registries share and the final targets of each stage.
import os
import platform
import sys
from typing import NamedTuple

from fcrnpipe import numerics as _numerics
from fcrnpipe import provenance as _prov
from fcrnpipe.codehash import source_hash as lib_code

DOMAINS = ["dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds"]
RAW = config["raw_dir"]
RES = config["results_dir"]
LOGS = config["logs_dir"]
RESOURCES = config["resources_dir"]

# The library (workflow/fcrnpipe) is importable by every job, also outside .venv (conda
# environments, cluster nodes): jobs inherit PYTHONPATH from this process, and `envvars`
# passes it on to remote (e.g. Slurm) jobs.
_LIB = os.path.join(workflow.basedir, "workflow")
if _LIB not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [_LIB, os.environ.get("PYTHONPATH", "")] if p)

# The same CPU code paths for every job (config numerics, x86-64 only): OpenBLAS kernels and
# numpy's SIMD loops, so PK/PD outputs are byte-identical between machines (docs/nlme.md).
_PIN = _numerics.job_environment(config["numerics"], platform.machine(), _numerics.numpy_dispatch(), os.environ)
for _note in _PIN.notes:
    print(_note, file=sys.stderr)
for _var in _PIN.unset:
    del os.environ[_var]
os.environ.update(_PIN.set)


envvars:
    "PYTHONPATH",
    *_PIN.set,


CONDA_ENV = "../envs/pipeline.yaml"

# The arms that receive the study drug (dose_mg > 0): the PK/NCA and PK/PD outputs show these
# only; a placebo arm (dose_mg 0) is in the safety and PD outputs.
DOSED_ARMS = [a for a in config["study"]["arms"] if float(a["dose_mg"]) > 0]
# arm code, label and dose without the plotting colour: a colour change reruns only the figures
PLAIN_ARMS = [{k: arm[k] for k in ("armcd", "label", "dose_mg")} for arm in config["study"]["arms"]]
PLAIN_DOSED_ARMS = [a for a in PLAIN_ARMS if float(a["dose_mg"]) > 0]

# Each stage's rule file registers the files `rule all` should build.
TARGETS = {}


def res(path):
    """A path under the results folder."""
    return os.path.join(RES, path)


def logf(path):
    """A log file path (kept out of results/ so outputs stay byte-identical)."""
    return os.path.join(LOGS, path)


def bench(path):
    """A benchmark file path (kept out of results/: timings differ run to run)."""
    return os.path.join(LOGS, "benchmarks", path)


def raw_file(domain):
    """The export of `domain` in the data cut (.csv preferred, else .xpt); [] if missing.

    A missing export is reported by the validation job (failures.csv) rather than by
    Snakemake's 'missing input' error, so the user gets the same report for every problem.
    """
    for ext in ("csv", "xpt"):
        path = os.path.join(RAW, f"{domain}.{ext}")
        if os.path.exists(path):
            return path
    return []


# the run's start time (set by onstart in provenance.smk), for the run ledger
RUN = {}


def record_run(outcome, log):
    """Append this run (outcome "success" or "failure") to the run ledger."""
    _prov.record_run(outcome, log, config, RUN.get("start"), RES, RAW, DOMAINS, workflow.basedir)


def stats_parts(parts):
    """The ARD parts results/stats/parts/<part>.csv, in this order."""
    return expand(res("stats/parts/{part}.csv"), part=parts)


def ard_input(*parts):
    """Named input `ard`: the ARD parts, in this order."""
    return {"ard": stats_parts(parts)}


def adam(*domains):
    """Named ADaM inputs: {domain: results/adam/<domain>.parquet}."""
    return {d: res(f"adam/{d}.parquet") for d in domains}


def validated(*domains):
    """Named validated-domain inputs: {domain: results/validation/<domain>.parquet}."""
    return {d: res(f"validation/{d}.parquet") for d in domains}


def resource(name):
    """A file of the resources folder (unit table, reference ranges, CTCAE grades, ...)."""
    return os.path.join(RESOURCES, name)


def reported(path, caption, category, subcategory):
    """results/<path>, shown in the report with caption workflow/report/<caption>.rst."""
    return report(res(path), caption=f"../report/{caption}.rst", category=category, subcategory=subcategory)


def figure_files(stem, caption, category, subcategory="Figures"):
    """Named outputs of a figure: png (in the report) and svg, results/<stem>.png/.svg."""
    return {"png": reported(f"{stem}.png", caption, category, subcategory), "svg": res(f"{stem}.svg")}


class Spec(NamedTuple):
    """An entry of a registry (DERIVE, STATS_PARTS, PKPD_PLOTS, TABLES, FIGURES): named inputs,
    params (besides those every entry of it has); for a table or figure also its report category
    and the hash of the library code it runs."""

    input: dict
    params: dict
    category: str = ""
    code: str = ""


# params and inputs several registries and rules share
_TRT = {"treatment": config["study"]["treatment"]}
_DOSING = {"dosing_days": config["study"]["dosing_days"]}
_VISITS = {"visits": config["visits"]}
_PLACEBO = {"placebo": config["study"].get("placebo", "PLACEBO")}
_UNITS = {"units": resource("units.csv")}
_EDSS = {k: config["edss"][k] for k in ("primary_visit", "improvement")}
