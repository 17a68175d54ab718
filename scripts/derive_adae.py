"""Rule derive_adae: ADSL + validated AE -> ADAE (results/adam/adae.parquet + .csv)."""

from fcrnpipe.derive import derive_adae, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet


def main(smk):
    adae = derive_adae(read_parquet(smk.input.adsl), read_parquet(smk.input.ae), **analysis_params(smk))
    write_dataset(adae, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
