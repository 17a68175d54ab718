"""Rule derive_adsl: validated DM, EX, DS, VS, LB, PC, QS -> ADSL (results/adam/adsl.parquet + .csv)."""

from fcrnpipe.derive import derive_adsl, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet
from fcrnpipe.units import load_unit_table


def main(smk):
    tables = {d: read_parquet(smk.input[d]) for d in ("dm", "ex", "ds", "vs", "lb", "pc", "qs")}
    adsl = derive_adsl(**tables, units=load_unit_table(smk.input.units), **analysis_params(smk))
    write_dataset(adsl, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
