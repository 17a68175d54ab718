#!/usr/bin/env python
"""Benchmark of the NCA and the population PK/PD fits on simulated studies (issue #3).

    .venv/bin/python scripts/benchmark.py --out results/benchmarks/pkpd.csv          (make bench)
    .venv/bin/python scripts/benchmark.py --sizes 9,100 --out /tmp/bench.csv          (quick)
    .venv/bin/python scripts/benchmark.py --sizes 9 --coverage-seeds 20 --jobs 2      (coverage)

For each study size (default 9, 100 and 1,000 subjects; 340 and 680 mg SC weekly x 4, the
reference study's sampling design, simulated by :func:`fcrnpipe.nlme.synthetic.simulate_nm_dataset`)
the tasks below run one after the other, each in a fresh Python process, so that the wall
time (process start to exit, imports included) and the peak memory (the child's maximum
resident set size, ``os.wait4`` rusage) belong to that task alone:

* ``simulate`` -- the NONMEM-style dataset (input of the others; written to ``--workdir``);
* ``nca``      -- :func:`fcrnpipe.nca.run_nca` + :func:`~fcrnpipe.nca.summarise_nca` on the
  concentrations (ADPC/ADEX/ADSL built from the dataset; config ``nca``);
* ``pk_fit``   -- ``sc1cmt_mm`` as the pipeline fits it (IIV CL, V, Vmax; Km fixed; error and
  BLQ method from config ``pkpd``; ``FINAL_FIT_OPTIONS``; covariance step included);
* ``pd_fit``   -- ``igg_turnover`` on the individual PK of ``pk_fit`` (sequential mode; IIV
  IgG0, kout, EC50; steroid effect fixed from config).

Plus ``theoph_cli``: the whole ``scripts/fit_nlme.py`` process on the Theoph data, and
``theoph_r`` right after it: R ``nlme`` on the same data, the whole ``Rscript`` process
(``SSfol``, ``pdDiag``; skipped when ``Rscript`` or R's ``nlme`` is missing), so that the ratio
is measured in one run (issue #11: Theoph CLI <= 2 x R).

Plus ``reference`` (issue #11), the reference study as the pipeline fits it: ``ref_dataset``
builds the modelling dataset and the final fits of the shipped data cut with Snakemake (in
``--workdir``; skipped when ``--reference-results`` names a finished run), then, each in a
fresh process, ``ref_pk_fit`` (``sc1cmt_mm``, covariance step included), ``ref_pd_fit``
(``igg_turnover`` on that run's individual PK) and ``ref_bootstrap`` (replicates 1-10 of the
default bootstrap, each a PK + PD refit, as ``pkpd_bootstrap_chunk`` runs them; the notes give
the CPU time per replicate). The fit times in the notes (``fit``) exclude the imports; the
wall time is the whole process. The worker fits twice: the second fit's CPU time, subtracted
from the first's, gives the one-off start-up a process pays at its first fit (numba's runtime
and the compiled kernel loaded from its cache). The Theoph ratio, the reference fit targets
and the bootstrap replicate compare CPU time (on a shared machine the wall time also counts
the waits for a core).

Plus ``validation`` (issue #9), for each of ``--validation-sizes`` (default 150 and 300 subjects):
``realistic_cut`` writes a realistic data cut (``scripts/simulate_study.py --realistic``: placebo
arm, screen failures, other lab panels, blood pressure by position and time point, a second
questionnaire; 300 subjects give about 100,000 LB, 37,000 VS and 225,000 QS records), then
``validation`` runs the validation stage on it as the pipeline does -- ``snakemake --cores 2`` on
the eight ``check_domain`` jobs, the report and the eight gates -- and records the wall time of
that whole process, its peak memory (the largest process of the run) and, in the notes, the two
largest jobs' peaks together (what two cores can hold at once, from Snakemake's benchmark
files) and the findings by severity. Targets: 300 subjects < 60 s and < 2 GB; the scaling
exponent over the sizes shows that the time grows linearly.

Writes ``--out`` (columns ``task, n_subjects, wall_s, peak_mb, converged, notes``) and prints
a summary: the scaling exponent of each task (slope of log wall time on log subjects, over all
sizes and between the two largest; 1 = linear) and the targets -- Theoph CLI < 2 s; the
1,000-subject PK and PD fits each < 10 min and < 4 GB (on the 2-core reference machine). The
exit status is 0 even when a target is missed (the table says so); 1 if a task crashed.

``--coverage-seeds N``: N recovery studies (36 subjects, seeds 1..N; the design and fits of
``tests/test_nlme_recovery.py``: truth = the simulator's population without IIV on ka and
Emax) -> ``recovery_coverage_seeds.csv`` (one row per seed and estimated fixed effect) and
``recovery_coverage.csv`` (per parameter and overall: fraction of 95% CIs covering the truth,
fraction within 20%, mean relative error), next to ``--out`` unless ``--coverage-out`` is given.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["task", "n_subjects", "wall_s", "peak_mb", "converged", "notes"]
THEOPH = ROOT / "tests" / "data" / "theoph_nm.csv"
TARGET_THEOPH_S = 2.0
TARGET_THEOPH_R_RATIO = 2.0
TARGET_REF_FIT_S = 1.0
TARGET_REPLICATE_S = 2.0
#: Threads of the fits (``--threads``; the pipeline's fit rules have ``threads: 2``).
FIT_THREADS = {"threads": 2}
TARGET_FIT_S = {"pk_fit": 60.0, "pd_fit": 30.0}
TARGET_FIT_MB = 2048.0
TARGET_SIZE = 1000
TARGET_VALIDATION_S = 60.0
TARGET_VALIDATION_MB = 2048.0
TARGET_VALIDATION_SIZE = 300
VALIDATION_DOMAINS = ("dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds")
PK_ESTIMATED = ("ka", "CL", "V", "Vmax")
PD_ESTIMATED = ("IgG0", "kout", "Emax", "EC50")


# ----------------------------------------------------------------------------- configuration
def load_config() -> dict[str, Any]:
    import yaml

    with open(ROOT / "config" / "config.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# ----------------------------------------------------------------------------- workers (child processes)
def work_simulate(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    from fcrnpipe.nlme.synthetic import simulate_nm_dataset

    study = simulate_nm_dataset(n_subjects=n, doses_mg=(340.0, 680.0), seed=seed)
    study.write(workdir / "nm.csv")
    n_blq = int((study.records["BLQ"] == 1).sum())
    return {"converged": "", "notes": f"{len(study.records)} records, {n_blq} BLQ"}


def nca_inputs(nm):
    """ADPC, ADEX, ADSL (the columns :func:`fcrnpipe.nca.run_nca` reads) from a NONMEM-style
    dataset: a sample taken at a dose time is pre-dose (1 min before the dose, previous dose)."""
    import numpy as np
    import pandas as pd

    nm = nm.copy()
    nm["USUBJID"] = "SUBJ-" + nm["ID"].astype(str)
    doses = nm[nm["EVID"] == 1].copy()
    doses["DOSENUM"] = doses.groupby("USUBJID").cumcount() + 1
    adex = pd.DataFrame({"USUBJID": doses["USUBJID"], "EXTRT": "BATOCLIMAB", "EXDOSE": doses["AMT"],
                         "AFRLT": doses["TIME"], "DOSENUM": doses["DOSENUM"]})
    pc = nm[(nm["EVID"] == 0) & (nm["CMT"] == 2)].copy()
    t = pc["TIME"].to_numpy(float)
    at_dose = pc.merge(doses[["USUBJID", "TIME"]], on=["USUBJID", "TIME"], how="left", indicator=True)["_merge"]
    t = np.where(at_dose.to_numpy() == "both", t - 1.0 / 60.0, t)
    dosenum = np.zeros(len(pc), dtype=int)
    arrlt = np.full(len(pc), np.nan)
    for subj, idx in pc.groupby("USUBJID").indices.items():
        dt = np.sort(doses.loc[doses["USUBJID"] == subj, "TIME"].to_numpy(float))
        k = np.searchsorted(dt, t[idx], side="right")
        dosenum[idx] = k
        ok = k > 0
        arrlt[idx[ok]] = t[idx[ok]] - dt[k[ok] - 1]
    adpc = pd.DataFrame({"USUBJID": pc["USUBJID"].to_numpy(), "AVAL": pc["DV"].to_numpy(float),
                         "BLQFL": np.where(pc["BLQ"].to_numpy() == 1, "Y", ""), "AFRLT": t,
                         "ARRLT": arrlt, "DOSENUM": np.where(dosenum > 0, dosenum, np.nan)})
    first = doses.drop_duplicates("USUBJID")
    adsl = pd.DataFrame({"USUBJID": first["USUBJID"], "ARMCD": "D" + first["AMT"].astype(int).astype(str),
                         "PKFL": "Y"})
    return adpc, adex, adsl


def work_nca(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    import logging

    import pandas as pd

    from fcrnpipe.nca import NCAOptions, run_nca, summarise_nca

    logging.getLogger("fcrnpipe").setLevel(logging.WARNING)
    cfg = load_config()["nca"]
    adpc, adex, adsl = nca_inputs(pd.read_csv(workdir / "nm.csv"))
    options = NCAOptions.from_config(cfg["auc_method"], cfg["lambda_z"], cfg["blq"])
    nca = run_nca(adpc, adex, adsl, cfg["intervals"], options)
    summ = summarise_nca(nca, adsl)
    n_lz = int(nca[(nca["parameter"] == "lambda_z")]["value"].notna().sum())
    return {"converged": "", "notes": f"{len(nca)} parameter rows, {n_lz} lambda_z estimated, {len(summ)} summary rows"}


def _fit_notes(res) -> str:
    opt = res.optimizer
    cov = res.covariance
    cov_txt = "not run" if cov is None else ("ok" if cov.ok else "failed")
    t = res.timing
    return (f"OFV {res.ofv:.3f}; {opt.get('iterations', 0)} iterations, {opt.get('function_evaluations', 0)} OFV "
            f"evaluations, grid refits {opt.get('grid_refits', 0)}; covariance {cov_txt}; setup {t['setup_and_init_s']:.1f} s, "
            f"estimation {t['estimation_s']:.1f} s, covariance {t['covariance_s']:.1f} s")


def work_pk_fit(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    import warnings

    from fcrnpipe.nlme import read_nm_dataset
    from fcrnpipe.nlme.estimate import FitWarning
    from fcrnpipe.pkpd import fitting as F
    from fcrnpipe.pkpd.state import individual_pk_records

    cfg = load_config()["pkpd"]
    data = read_nm_dataset(workdir / "nm.csv")
    spec = F.pk_spec("sc1cmt_mm", cfg["residual_error"]["pk"], cfg["blq_method"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = F.run_fit(data, spec, F.fit_options(FIT_THREADS, F.FINAL_FIT_OPTIONS))
    individual_pk_records(res).to_csv(workdir / "pk_individual.csv", index=False)
    (workdir / "pk_typical.json").write_text(json.dumps(res.theta_natural))
    return {"converged": bool(res.optimizer["converged"]), "notes": _fit_notes(res)}


def work_pd_fit(n: int, seed: int, workdir: Path) -> dict[str, Any]:
    import warnings

    import pandas as pd

    from fcrnpipe.nlme import read_nm_dataset
    from fcrnpipe.nlme.estimate import FitWarning
    from fcrnpipe.pkpd import fitting as F
    from fcrnpipe.pkpd.state import pk_for_pd

    cfg = load_config()["pkpd"]
    data = read_nm_dataset(workdir / "nm.csv")
    ind = pd.read_csv(workdir / "pk_individual.csv", dtype={"ID": str})
    typical = json.loads((workdir / "pk_typical.json").read_text())
    pki, pkt = pk_for_pd(ind, typical, "sc1cmt_mm")
    spec = F.pd_spec(pki, pkt, cfg["steroid_suppression"], cfg["residual_error"]["pd"], cfg["blq_method"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        res = F.run_fit(data, spec, F.fit_options(FIT_THREADS, F.FINAL_FIT_OPTIONS))
    return {"converged": bool(res.optimizer["converged"]), "notes": _fit_notes(res)}


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def work_ref_fit(part: str, workdir: Path) -> dict[str, Any]:
    """The reference study's final PK or PD fit from a finished run in ``workdir``."""
    import warnings

    from fcrnpipe.nlme import fit as nlme_fit
    from fcrnpipe.nlme import read_nm_dataset
    from fcrnpipe.nlme.estimate import FitWarning
    from fcrnpipe.pkpd import fitting as F
    from fcrnpipe.pkpd.state import build_population_model

    data = read_nm_dataset(workdir / "pkpd" / "nm_dataset.csv")
    spec = json.loads((workdir / "pkpd" / part / "fit.json").read_text())["spec"]
    pm = build_population_model(spec)
    cpu, wall, fits = [], [], []
    for _ in range(2):  # the second fit, same process: without the one-off start-up of the first
        c0, t0 = _cpu(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            fits.append(nlme_fit(data, pm, F.fit_options(FIT_THREADS, F.FINAL_FIT_OPTIONS)))
        wall.append(time.perf_counter() - t0)
        cpu.append(_cpu() - c0)
    # start-up: what only the first fit of a process pays (numba's runtime and the compiled
    # kernel loaded from its cache); the notes and the status are the first fit's
    res = fits[0]
    return {"converged": bool(res.optimizer["converged"]),
            "notes": f"fit {wall[0]:.2f} s (cpu {cpu[0]:.2f} s; again in the same process: cpu {cpu[1]:.2f} s, "
                     f"start-up {cpu[0] - cpu[1]:.2f} s); {_fit_notes(res)}"}


def work_ref_bootstrap(workdir: Path, replicates: str = "1,2,3,4,5,6,7,8,9,10") -> dict[str, Any]:
    """Bootstrap replicates of the reference study (default config), as the chunk job runs them."""
    import yaml

    from fcrnpipe.pkpd.stage import FIT_FILES, bootstrap_replicates

    full = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    cfg = full["pkpd"]["bootstrap"]
    names = {"fit": "fit.json", "population": "population_parameters.csv", "individual": "individual_parameters.csv",
             "predictions": "predictions.csv", "summary": "fit_summary.json"}
    dirs = {part: {k: str(workdir / "pkpd" / part / names[k]) for k in FIT_FILES} for part in ("pk", "pd")}
    reps = [int(r) for r in replicates.split(",")]
    options = {k: cfg[k] for k in ("max_evaluations", "search_range") if k in cfg}
    c0, t0 = _cpu(), time.perf_counter()
    table = bootstrap_replicates(str(workdir / "pkpd" / "nm_dataset.csv"), dirs["pk"], dirs["pd"], reps,
                                 seed=int(full["seeds"]["bootstrap"]),
                                 restarts=int(cfg.get("restarts", 1)), options=options)
    t1, c1 = time.perf_counter(), _cpu()
    ok = int((table["status"] == "ok").sum())
    return {"converged": ok == len(reps),
            "notes": f"{len(reps)} replicates, {ok} ok; {(t1 - t0) / len(reps):.2f} s per replicate "
                     f"(cpu {(c1 - c0) / len(reps):.2f} s)"}


WORKERS = {"simulate": work_simulate, "nca": work_nca, "pk_fit": work_pk_fit, "pd_fit": work_pd_fit,
           "ref_pk_fit": lambda n, seed, wd: work_ref_fit("pk", wd),
           "ref_pd_fit": lambda n, seed, wd: work_ref_fit("pd", wd),
           "ref_bootstrap": lambda n, seed, wd: work_ref_bootstrap(wd)}


def worker_main(task: str, n: int, seed: int, workdir: Path) -> int:
    out = WORKERS[task](n, seed, workdir)
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent
def run_child(cmd: list[str], timeout: float) -> tuple[float, float, float, int, str, str]:
    """Run ``cmd``; returns wall time (s), peak RSS of that child (MB), its CPU time (user +
    system, s; tells a busy machine from a slow task), exit status, stdout, stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, text=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        peak_mb = usage.ru_maxrss / 1024.0  # Linux: kilobytes
        cpu = usage.ru_utime + usage.ru_stime
        return wall, peak_mb, cpu, proc.returncode, out.read(), err.read()


def run_task(task: str, n: int, seed: int, workdir: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", task, "--n", str(n), "--seed", str(seed),
           "--workdir", str(workdir), "--threads", str(FIT_THREADS["threads"])]
    wall, peak, cpu, code, out, err = run_child(cmd, timeout)
    row = {"task": task, "n_subjects": n, "wall_s": round(wall, 3), "peak_mb": round(peak, 1), "converged": "",
           "notes": ""}
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    if code == 0 and lines:
        res = json.loads(lines[-1][7:])
        row.update(converged=res["converged"], notes=f"cpu {cpu:.1f} s; {res['notes']}")
    else:
        tail = " | ".join(err.strip().splitlines()[-3:])
        row.update(converged=False, notes=f"FAILED (exit {code}{', timeout' if wall >= timeout else ''}): {tail}")
    print(f"  {task:<10} n={n:<5} {row['wall_s']:>9.2f} s {row['peak_mb']:>8.1f} MB  {row['notes']}", flush=True)
    return row


def run_theoph(timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, str(ROOT / "scripts" / "fit_nlme.py"), "--data", str(THEOPH), "--model", "oral1cmt",
               "--param", "ssfol", "--error", "additive", "--out", tmp]
        wall, peak, cpu, code, _, err = run_child(cmd, timeout)
        notes, conv = f"FAILED (exit {code})", False
        if code == 0:
            summ = json.loads((Path(tmp) / "fit_summary.json").read_text())
            pop = {r.split(",")[0]: r.split(",")[1] for r in (Path(tmp) / "population_parameters.csv").read_text().splitlines()[1:]}
            conv = bool(summ["convergence"]["converged"])
            notes = (f"whole process, cpu {cpu:.2f} s; lKe {float(pop['lKe']):.4f}, lKa {float(pop['lKa']):.4f}, "
                     f"lCl {float(pop['lCl']):.4f}, logLik {summ['log_likelihood']:.3f}")
    row = {"task": "theoph_cli", "n_subjects": 12, "wall_s": round(wall, 3), "peak_mb": round(peak, 1),
           "converged": conv, "notes": notes}
    print(f"  theoph_cli n=12    {row['wall_s']:>9.2f} s {row['peak_mb']:>8.1f} MB  {notes}", flush=True)
    return row


#: R nlme on Theoph (the reference fit of docs/nlme.md), whole Rscript process.
THEOPH_R = """
suppressPackageStartupMessages(library(nlme))
d <- read.csv("{data}", na.strings = ".")
dose <- d[d$EVID == 1, c("ID", "AMT")]
obs <- d[d$EVID == 0, c("ID", "TIME", "DV")]
obs$Dose <- dose$AMT[match(obs$ID, dose$ID)]
obs <- groupedData(DV ~ TIME | ID, data = obs)
fm <- nlme(DV ~ SSfol(Dose, TIME, lKe, lKa, lCl), data = obs, fixed = lKe + lKa + lCl ~ 1,
           random = pdDiag(lKe + lKa + lCl ~ 1))
f <- fixef(fm)
cat(sprintf("lKe %.4f, lKa %.4f, lCl %.4f, logLik %.3f\\n", f[1], f[2], f[3], as.numeric(logLik(fm))))
"""


def run_theoph_r(timeout: float) -> dict[str, Any] | None:
    """R ``nlme`` on Theoph (whole ``Rscript`` process), or None without R/nlme."""
    import shutil

    rscript = shutil.which("Rscript")
    if rscript is None:
        print("  theoph_r   skipped: no Rscript (Debian: r-base-core, r-cran-nlme)", flush=True)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "theoph.R"
        script.write_text(THEOPH_R.replace("{data}", str(THEOPH)))
        wall, peak, cpu, code, out, err = run_child([rscript, "--vanilla", str(script)], timeout)
    if code != 0:
        print(f"  theoph_r   skipped: Rscript failed ({err.strip()[-200:]})", flush=True)
        return None
    notes = f"whole Rscript process, cpu {cpu:.2f} s; {out.strip()}"
    row = {"task": "theoph_r", "n_subjects": 12, "wall_s": round(wall, 3), "peak_mb": round(peak, 1),
           "converged": True, "notes": notes}
    print(f"  theoph_r   n=12    {row['wall_s']:>9.2f} s {row['peak_mb']:>8.1f} MB  {notes}", flush=True)
    return row


def run_reference(workdir: Path, results: Path | None, timeout: float) -> list[dict[str, Any]]:
    """``ref_dataset`` (unless ``results`` is a finished run), ``ref_pk_fit``, ``ref_pd_fit``,
    ``ref_bootstrap`` on the shipped reference study."""
    rows: list[dict[str, Any]] = []
    needed = ["pkpd/nm_dataset.csv", "pkpd/pk/fit.json", "pkpd/pd/fit.json"]
    if results is not None and all((results / f).is_file() for f in needed):
        base = results
    else:
        base = workdir / "results"
        snakemake = str(Path(sys.executable).parent / "snakemake")
        cmd = [snakemake, "--cores", "2", "--config", f"results_dir={base}", f"logs_dir={workdir / 'logs'}",
               "--", str(base / "pkpd" / "pd" / "fit.json")]
        wall, peak, cpu, code, out, err = run_child(cmd, timeout)
        row = {"task": "ref_dataset", "n_subjects": 9, "wall_s": round(wall, 3), "peak_mb": round(peak, 1),
               "converged": "", "notes": "snakemake --cores 2 up to pkpd/pd/fit.json (validation, ADaM, NCA, "
                                          "dataset, both PK candidates, PD)" if code == 0
               else f"FAILED (exit {code}): " + " | ".join(err.strip().splitlines()[-3:])}
        print(f"  ref_dataset n=9     {row['wall_s']:>9.2f} s {row['peak_mb']:>8.1f} MB  {row['notes']}", flush=True)
        rows.append(row)
        if code != 0:
            return rows
    for task in ("ref_pk_fit", "ref_pd_fit", "ref_bootstrap"):
        rows.append(run_task(task, 9, 0, base, timeout))
    return rows


def run_validation(n: int, seed: int, workdir: Path, timeout: float, cores: int = 2) -> list[dict[str, Any]]:
    """``realistic_cut`` and ``validation`` rows for a realistic cut of ``n`` subjects."""
    import pandas as pd

    cut, res, logs = workdir / "cut", workdir / "results", workdir / "logs"
    cmd = [sys.executable, str(ROOT / "scripts" / "simulate_study.py"), "--out", str(cut), "--subjects", str(n),
           "--realistic", "--seed", str(seed)]  # fmt: skip
    wall, peak, cpu, code, out, err = run_child(cmd, timeout)
    sim = {"task": "realistic_cut", "n_subjects": n, "wall_s": round(wall, 3), "peak_mb": round(peak, 1),
           "converged": "", "notes": out.strip().split("; ")[1] if code == 0 and "; " in out else f"FAILED (exit {code}): {err[-300:]}"}  # fmt: skip
    print(f"  {'realistic_cut':<13} n={n:<5} {sim['wall_s']:>9.2f} s {sim['peak_mb']:>8.1f} MB  {sim['notes']}", flush=True)
    if code != 0:
        return [sim]
    targets = [str(res / "validation" / f"{d}.parquet") for d in VALIDATION_DOMAINS]
    targets += [str(res / "validation" / "failures.csv"), str(res / "validation" / "report.html")]
    snakemake = str(Path(sys.executable).parent / "snakemake")
    cmd = [snakemake, "--cores", str(cores), "--configfile", str(ROOT / "config" / "config.yaml"),
           str(cut / "study_config.yaml"), "--config", f"raw_dir={cut}", f"results_dir={res}", f"logs_dir={logs}",
           "--", *targets]  # fmt: skip
    wall, peak, cpu, code, out, err = run_child(cmd, timeout)
    row = {"task": "validation", "n_subjects": n, "wall_s": round(wall, 3), "peak_mb": round(peak, 1),
           "converged": "", "notes": ""}  # fmt: skip
    if code != 0:
        row["notes"] = f"FAILED (exit {code}): " + " | ".join(err.strip().splitlines()[-3:])
    else:
        jobs = sorted(
            (float(pd.read_csv(f, sep="\t")["max_rss"].iloc[0]) for f in (logs / "benchmarks" / "validation").glob("*.tsv")),
            reverse=True,
        )
        failures = pd.read_csv(res / "validation" / "failures.csv", dtype=str, keep_default_na=False)
        by_sev = failures["severity"].value_counts().to_dict()
        rows_in = sum(len(pd.read_csv(cut / f"{d}.csv", usecols=[0])) for d in VALIDATION_DOMAINS)
        row["notes"] = (
            f"cpu {cpu:.1f} s; {rows_in:,} rows; {len(jobs)} jobs, largest {jobs[0]:.0f} MB, two largest together "
            f"{sum(jobs[:2]):.0f} MB; findings: "
            + ", ".join(f"{by_sev.get(s, 0)} {s}(s)" for s in ("error", "warning", "notice"))
        )
        row["two_largest_mb"] = round(sum(jobs[:2]), 1)
    print(f"  {'validation':<13} n={n:<5} {row['wall_s']:>9.2f} s {row['peak_mb']:>8.1f} MB  {row['notes']}", flush=True)
    return [sim, row]


def scaling(rows: list[dict[str, Any]], task: str) -> tuple[float, float]:
    """Slope of log(wall) on log(n) over all sizes, and between the two largest (NaN if < 2)."""
    import numpy as np

    pts = sorted((r["n_subjects"], r["wall_s"]) for r in rows if r["task"] == task and not str(r["notes"]).startswith("FAILED"))
    if len(pts) < 2:
        return math.nan, math.nan
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    slope_all = float(np.polyfit(x, y, 1)[0])
    slope_top = float((y[-1] - y[-2]) / (x[-1] - x[-2]))
    return slope_all, slope_top


def _cpu_seconds(notes: str, prefix: str = "") -> float:
    """The first ``<prefix>cpu X s`` figure of a task's notes (NaN if absent): the CPU time of a
    whole process (``theoph_cli``, ``theoph_r``) or, with ``prefix`` ``r"fit [0-9.]+ s \\("``,
    of a reference task's first fit (``r"s per replicate \\("``: per bootstrap replicate)."""
    import re

    m = re.search(prefix + r"cpu ([0-9.]+) s", str(notes))
    return float(m.group(1)) if m else math.nan


def check_targets(rows: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    out = []
    by_task = {r["task"]: r for r in rows}
    # CPU time, not wall time: on a shared machine the wall time also counts the waits for a core
    if "theoph_cli" in by_task and "theoph_r" in by_task:
        py, r = by_task["theoph_cli"], by_task["theoph_r"]
        ratio = _cpu_seconds(py["notes"]) / _cpu_seconds(r["notes"])
        out.append((f"Theoph CLI <= {TARGET_THEOPH_R_RATIO:g} x R nlme (whole processes, CPU time)",
                    f"{ratio:.2f} x (wall: {py['wall_s'] / r['wall_s']:.2f} x)", bool(ratio <= TARGET_THEOPH_R_RATIO)))
    for task, target in (("ref_pk_fit", TARGET_REF_FIT_S), ("ref_pd_fit", TARGET_REF_FIT_S)):
        if task in by_task:
            v = _cpu_seconds(by_task[task]["notes"], prefix=r"fit [0-9.]+ s \(")
            out.append((f"{task} (reference study, fit without imports, CPU time) <= {target:g} s", f"{v:.2f} s",
                        bool(v <= target)))
    if "ref_bootstrap" in by_task:
        v = _cpu_seconds(by_task["ref_bootstrap"]["notes"], prefix=r"s per replicate \(")
        out.append((f"bootstrap replicate (PK + PD refit, CPU time) <= {TARGET_REPLICATE_S:g} s", f"{v:.2f} s",
                    bool(v <= TARGET_REPLICATE_S)))
    for r in rows:
        if r["task"] == "theoph_cli":
            out.append((f"Theoph CLI whole process < {TARGET_THEOPH_S:g} s", f"{r['wall_s']:.2f} s",
                        r["wall_s"] < TARGET_THEOPH_S))
        if r["task"] in ("pk_fit", "pd_fit") and r["n_subjects"] == TARGET_SIZE:
            ok = not str(r["notes"]).startswith("FAILED")
            limit = TARGET_FIT_S[r["task"]]
            out.append((f"{r['task']} {TARGET_SIZE} subjects <= {limit:g} s", f"{r['wall_s']:.1f} s",
                        ok and r["wall_s"] <= limit))
            out.append((f"{r['task']} {TARGET_SIZE} subjects < {TARGET_FIT_MB / 1024:g} GB", f"{r['peak_mb'] / 1024:.2f} GB",
                        ok and r["peak_mb"] < TARGET_FIT_MB))
        if r["task"] == "validation" and r["n_subjects"] == TARGET_VALIDATION_SIZE:
            ok = not str(r["notes"]).startswith("FAILED")
            out.append((f"validation stage {TARGET_VALIDATION_SIZE} subjects (realistic cut, --cores 2) < "
                        f"{TARGET_VALIDATION_S:g} s", f"{r['wall_s']:.1f} s", ok and r["wall_s"] < TARGET_VALIDATION_S))
            mem = max(r["peak_mb"], r.get("two_largest_mb", 0.0))
            out.append((f"validation stage {TARGET_VALIDATION_SIZE} subjects < {TARGET_VALIDATION_MB / 1024:g} GB "
                        "(largest process; two largest jobs together)", f"{mem / 1024:.2f} GB",
                        ok and mem < TARGET_VALIDATION_MB))
    return out


# ----------------------------------------------------------------------------- coverage
def recovery_seed(seed: int, n_subjects: int = 36) -> list[dict[str, Any]]:
    """One recovery study (as tests/test_nlme_recovery.py): rows per estimated fixed effect."""
    import warnings

    import pandas as pd

    from fcrnpipe.nlme import population_table, validate_nm_frame
    from fcrnpipe.nlme.estimate import FitWarning
    from fcrnpipe.nlme.synthetic import simulate_nm_dataset, with_iiv
    from fcrnpipe.pkpd import fitting as F
    from fcrnpipe.pkpd.state import individual_pk_records, pk_for_pd
    from fcrnpipe.simulate import TRUE_POPULATION

    import logging

    logging.getLogger("fcrnpipe").setLevel(logging.ERROR)  # caveats are in the table (converged, covariance_ok)
    cfg = load_config()["pkpd"]
    study = simulate_nm_dataset(n_subjects=n_subjects, doses_mg=(340.0, 680.0), seed=seed,
                                population=with_iiv(TRUE_POPULATION, ka=0.0, emax=0.0))
    data = validate_nm_frame(study.records.astype(str), f"seed {seed}")
    options = F.fit_options(None, F.FINAL_FIT_OPTIONS)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        pk = F.run_fit(data, F.pk_spec("sc1cmt_mm", cfg["residual_error"]["pk"], cfg["blq_method"]), options)
        pki, pkt = pk_for_pd(individual_pk_records(pk), pk.theta_natural, "sc1cmt_mm")
        spec = F.pd_spec(pki, pkt, cfg["steroid_suppression"], cfg["residual_error"]["pd"], cfg["blq_method"])
        pdf = F.run_fit(data, spec, options)
    wall = time.perf_counter() - t0
    pop = pd.concat([population_table(pk), population_table(pdf)]).set_index("parameter")
    rows = []
    for name, fit in [(n, pk) for n in PK_ESTIMATED] + [(n, pdf) for n in PD_ESTIMATED]:
        r = pop.loc[name]
        truth = study.typical[name]
        rows.append({
            "seed": seed, "parameter": name, "truth": truth, "estimate": float(r["estimate"]),
            "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"]),
            "rel_error": float(r["estimate"] / truth - 1.0),
            "within_20pct": bool(abs(r["estimate"] / truth - 1.0) < 0.2),
            "ci_covers": bool(r["ci_low"] <= truth <= r["ci_high"]),
            "converged": bool(fit.optimizer["converged"]),
            "covariance_ok": bool(fit.covariance is not None and fit.covariance.ok),
            "fit_s": round(wall, 2),
        })
    return rows


def run_coverage(seeds: int, n_subjects: int, jobs: int, out_dir: Path) -> None:
    import pandas as pd

    print(f"\nrecovery coverage: {seeds} seeds x {n_subjects} subjects ({jobs} parallel job(s))", flush=True)
    rows: list[dict[str, Any]] = []
    seed_list = list(range(1, seeds + 1))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for res in ex.map(recovery_seed, seed_list, [n_subjects] * seeds):
                rows += res
                print(f"  seed {res[0]['seed']}: {sum(r['ci_covers'] for r in res)}/{len(res)} CIs cover", flush=True)
    else:
        for s in seed_list:
            res = recovery_seed(s, n_subjects)
            rows += res
            print(f"  seed {s}: {sum(r['ci_covers'] for r in res)}/{len(res)} CIs cover, "
                  f"{sum(r['within_20pct'] for r in res)}/{len(res)} within 20% ({res[0]['fit_s']:.0f} s)", flush=True)
    detail = pd.DataFrame(rows)
    summ = []
    for name, g in list(detail.groupby("parameter", sort=False)) + [("all", detail)]:
        summ.append({"parameter": name, "n_seeds": int(g["seed"].nunique()), "n_estimates": len(g),
                     "ci_coverage": round(float(g["ci_covers"].mean()), 4),
                     "within_20pct": round(float(g["within_20pct"].mean()), 4),
                     "mean_rel_error": round(float(g["rel_error"].mean()), 4),
                     "rmse_rel_error": round(float((g["rel_error"] ** 2).mean() ** 0.5), 4)})
    all_ok = detail.groupby("seed").apply(lambda g: bool((g["ci_covers"] & g["within_20pct"]).all()), include_groups=False)
    summ_df = pd.DataFrame(summ)
    out_dir.mkdir(parents=True, exist_ok=True)
    detail.to_csv(out_dir / "recovery_coverage_seeds.csv", index=False)
    summ_df.to_csv(out_dir / "recovery_coverage.csv", index=False)
    print(summ_df.to_string(index=False))
    print(f"studies meeting every criterion (all 8 within 20% and covered): {int(all_ok.sum())}/{len(all_ok)}")
    print(f"wrote {out_dir / 'recovery_coverage.csv'} and recovery_coverage_seeds.csv")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "pkpd.csv"))
    ap.add_argument("--sizes", default="9,100,1000", help="comma-separated numbers of subjects ('' = none)")
    ap.add_argument("--tasks", default="nca,pk_fit,pd_fit,theoph_cli,reference,validation",
                    help="subset of nca,pk_fit,pd_fit,theoph_cli,reference,validation")
    ap.add_argument("--reference-results", default=str(ROOT / "results"),
                    help="a finished run of the reference study to time the reference fits on (default: results/; "
                         "built in --workdir when it is not complete)")
    ap.add_argument("--validation-sizes", default="150,300",
                    help="subjects of the realistic cuts the validation stage is timed on (comma-separated)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the simulated studies")
    ap.add_argument("--timeout", type=float, default=3600.0, help="per task (s)")
    ap.add_argument("--workdir", help="keep the simulated datasets and PK fits here (default: a temporary folder)")
    ap.add_argument("--coverage-seeds", type=int, default=0, help="recovery studies for the CI coverage (0 = none)")
    ap.add_argument("--coverage-subjects", type=int, default=36)
    ap.add_argument("--coverage-out", help="folder of recovery_coverage.csv (default: that of --out)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel recovery studies")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of the PK/PD fits (FitOptions.threads; the fit rules' threads: 2)")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    FIT_THREADS["threads"] = max(1, args.threads)
    if args.worker:
        return worker_main(args.worker, args.n, args.seed, Path(args.workdir))

    import pandas as pd

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - {"nca", "pk_fit", "pd_fit", "theoph_cli", "reference", "validation"}
    if unknown:
        ap.error(f"unknown task(s) {sorted(unknown)}")
    if "pd_fit" in tasks and "pk_fit" not in tasks:
        ap.error("pd_fit needs pk_fit (the PD model is driven by its individual PK)")
    out = Path(args.out)
    rows: list[dict[str, Any]] = []
    print(f"benchmark: sizes {sizes}, tasks {tasks}, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}, "
          f"fits in {FIT_THREADS['threads']} thread(s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.workdir) if args.workdir else Path(tmp)
        if "theoph_cli" in tasks:
            rows.append(run_theoph(args.timeout))
            r_row = run_theoph_r(args.timeout)
            if r_row is not None:
                rows.append(r_row)
        if "reference" in tasks:
            rows += run_reference(base / "reference", Path(args.reference_results), args.timeout)
        for n in sizes:
            wd = base / f"n{n}"
            wd.mkdir(parents=True, exist_ok=True)
            sim = run_task("simulate", n, args.seed, wd, args.timeout)
            rows.append(sim)
            if str(sim["notes"]).startswith("FAILED"):
                continue
            for task in ("nca", "pk_fit", "pd_fit"):
                if task in tasks:
                    rows.append(run_task(task, n, args.seed, wd, args.timeout))
        if "validation" in tasks:
            for n in [int(s) for s in args.validation_sizes.split(",") if s.strip()]:
                rows += run_validation(n, args.seed, base / f"validation_n{n}", args.timeout)
    table = pd.DataFrame(rows, columns=COLUMNS)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)

    print(f"\nwrote {out}\n")
    print(table[["task", "n_subjects", "wall_s", "peak_mb", "converged"]].to_string(index=False))
    if len(sizes) >= 2 or len([r for r in rows if r["task"] == "validation"]) >= 2:
        print("\nscaling exponent (slope of log wall time on log subjects; 1 = linear):")
        for task in ("simulate", "nca", "pk_fit", "pd_fit", "realistic_cut", "validation"):  # noqa: B007
            s_all, s_top = scaling(rows, task)
            if math.isfinite(s_all):
                print(f"  {task:<13} all sizes {s_all:5.2f}   two largest {s_top:5.2f}"
                      f"{'   (target <= ~1)' if task in ('pk_fit', 'pd_fit', 'validation') else ''}")
    targets = check_targets(rows)
    if targets:
        print("\ntargets:")
        for what, value, ok in targets:
            print(f"  {'PASS' if ok else 'MISS'}  {what}: {value}")
    if args.coverage_seeds > 0:
        run_coverage(args.coverage_seeds, args.coverage_subjects, args.jobs,
                     Path(args.coverage_out) if args.coverage_out else out.parent)
    crashed = any(str(r["notes"]).startswith("FAILED") for r in rows)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
