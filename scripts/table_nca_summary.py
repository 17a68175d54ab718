"""Rule table_nca_summary: pk/nca_summary.csv (rows, labels) + the ARD parts pk_nca (numbers) and
disposition (PK population N) -> NCA parameters by dose (CSV + HTML)."""

import pandas as pd

from fcrnpipe.nca import AcceptanceRules, missing_reasons
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tables import nca_summary_table, write_outputs


def main(smk):
    p = smk.params
    summary = pd.read_csv(smk.input.summary, keep_default_na=False, na_values=[""])
    nca = pd.read_csv(smk.input.nca, keep_default_na=False, na_values=[""])
    rules = AcceptanceRules.from_config(p.acceptance)
    reasons = missing_reasons(nca, exclude_flagged=rules.exclude)
    table = nca_summary_table(
        summary, p.arms, None, reasons, treatment=p.treatment, data_cut=p.data_cut,
        acceptance=rules.describe(), excluded=rules.exclude, ard=read_ard(smk.input.ard),
    )
    write_outputs(table, smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
