"""Rule nca: ADPC + ADEX + ADSL -> NCA parameters, their summary by arm, dose proportionality."""

from fcrnpipe.nca import NCAOptions, dose_proportionality, run_nca, summarise_nca
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    adpc, adex, adsl = (read_parquet(f) for f in (smk.input.adpc, smk.input.adex, smk.input.adsl))
    options = NCAOptions.from_config(
        p.auc_method, p.lambda_z, p.blq, treatment=p.treatment, analyte=p.analyte, acceptance=p.acceptance
    )
    nca = run_nca(adpc, adex, adsl, p.intervals, options)
    exclude = options.acceptance.exclude
    write_csv(nca, smk.output.nca)
    write_csv(summarise_nca(nca, adsl, exclude_flagged=exclude), smk.output.summary)
    write_csv(dose_proportionality(nca, adsl, exclude_flagged=exclude), smk.output.dose_proportionality)


run(main, snakemake)  # noqa: F821
