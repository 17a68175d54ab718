#!/usr/bin/env python
"""Fit a population PK/PD model (FOCE-I) to a NONMEM-style dataset.

    .venv/bin/python scripts/fit_nlme.py --data FILE --model NAME --out DIR
        [--error additive|proportional|combined|CMT:KIND,...] [--blq M1|M3] [--omega diag|block]
        [--pd-on PK_FIT_DIR] [--param ssfol] [--iiv P,Q] [--fix P=V] [--init P=V]
        [--covariance hessian|sandwich|none] [--config FILE | --steroid F,K,DAY | --no-steroid]

Writes DIR/population_parameters.csv, individual_parameters.csv, predictions.csv,
fit_summary.json (deterministic) and fit_timing.json. See fcrnpipe.nlme.cli.
"""

import sys

from fcrnpipe.nlme.cli import main

if __name__ == "__main__":
    sys.exit(main())
