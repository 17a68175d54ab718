"""Rule nca: ADPC + ADEX + ADSL -> NCA parameters, their summary by arm, dose proportionality."""

from fcrnpipe.nca import NCAOptions, dose_proportionality, run_nca, summarise_nca
from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p, cfg = smk.params, smk.params.nca
    adpc, adex, adsl = (read_parquet(f) for f in (smk.input.adpc, smk.input.adex, smk.input.adsl))
    options = NCAOptions.from_config(
        cfg["auc_method"], cfg["lambda_z"], cfg["blq"], treatment=p.treatment, analyte=p.analyte,
        acceptance=cfg.get("acceptance", {}),
    )
    nca = run_nca(adpc, adex, adsl, cfg["intervals"], options)
    exclude = options.acceptance.exclude
    write_csv(nca, smk.output.nca)
    write_csv(summarise_nca(nca, adsl, exclude_flagged=exclude), smk.output.summary)
    write_csv(dose_proportionality(nca, adsl, exclude_flagged=exclude), smk.output.dose_proportionality)


run(main, snakemake)  # noqa: F821
