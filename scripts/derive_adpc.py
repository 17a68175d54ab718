"""Rule derive_adpc: ADSL + ADEX + validated PC -> ADPC (results/adam/adpc.parquet + .csv)."""

from fcrnpipe.derive import derive_adpc, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet
from fcrnpipe.units import load_unit_table


def main(smk):
    adsl, adex, pc = (read_parquet(f) for f in (smk.input.adsl, smk.input.adex, smk.input.pc))
    adpc = derive_adpc(adsl, adex, pc, units=load_unit_table(smk.input.units), **analysis_params(smk))
    write_dataset(adpc, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
