"""Rule derive_adex: validated DM, EX -> ADEX (results/adam/adex.parquet + .csv)."""

from fcrnpipe.derive import derive_adex, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet


def main(smk):
    adex = derive_adex(read_parquet(smk.input.dm), read_parquet(smk.input.ex), **analysis_params(smk))
    write_dataset(adex, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
