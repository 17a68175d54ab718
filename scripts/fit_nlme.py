#!/usr/bin/env python
"""Fit a population PK/PD model (FOCE-I) to a NONMEM-style dataset.

    .venv/bin/python scripts/fit_nlme.py --data FILE --model NAME --out DIR
        [--error additive|proportional|combined|CMT:KIND,...] [--blq M1|M3] [--omega diag|block]
        [--pd-on PK_FIT_DIR] [--param ssfol] [--iiv P,Q] [--fix P=V] [--init P=V]
        [--covariance hessian|sandwich|none] [--config FILE | --steroid F,K,DAY | --no-steroid]

Writes DIR/population_parameters.csv, individual_parameters.csv, predictions.csv,
fit_summary.json (deterministic) and fit_timing.json. See fcrnpipe.nlme.cli.

BLAS runs single-threaded unless the environment says otherwise (as Snakemake sets it for a
one-thread rule job): the estimator's matrices are a few parameters wide, and idle BLAS threads
cost CPU (Theoph: 0.05-0.14 s of ~1.0 s, less on a busy machine; the outputs are the same
bytes; docs/nlme.md, "Start-up cost").
"""

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read when numpy loads its BLAS, so before the import below

from fcrnpipe.nlme.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
