"""Rule table_published_vs_reproduced: stats/endpoints.csv + resources/published_findings.yaml ->
published findings vs reproduced values."""

import pandas as pd

from fcrnpipe.findings import load_findings
from fcrnpipe.runner import run
from fcrnpipe.stats import published_vs_reproduced
from fcrnpipe.tables import published_table, write_outputs


def main(smk):
    p = smk.params
    endpoints = pd.read_csv(smk.input.endpoints, keep_default_na=False, na_values=[""])
    findings = load_findings(smk.input.findings)
    published = published_vs_reproduced(endpoints, p.arms, p.visits, p.dosing_days, p.primary_visit, findings=findings)
    write_outputs(published_table(published, data_cut=p.data_cut, findings=findings), smk.output.csv, smk.output.html)


run(main, snakemake)  # noqa: F821
