"""Rule pkpd_nm_dataset: ADSL, ADEX, ADPC, ADLB -> pkpd/nm_dataset.csv (+ nm_id_map.csv)."""

from fcrnpipe.pkpd.stage import nm_dataset
from fcrnpipe.runner import run


def main(smk):
    p = smk.params
    nm_dataset(
        dict(smk.input.items()), dict(smk.output.items()),
        treatment=p.treatment, analyte=p.analyte, visits=p.visits, dosing_days=p.dosing_days,
    )


run(main, snakemake)  # noqa: F821
