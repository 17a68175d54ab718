"""Rule derive_adedss: ADSL + validated QS -> ADEDSS (results/adam/adedss.parquet + .csv)."""

from fcrnpipe.derive import derive_adedss, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet


def main(smk):
    adedss = derive_adedss(read_parquet(smk.input.adsl), read_parquet(smk.input.qs), **analysis_params(smk))
    write_dataset(adedss, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
