"""Rule derive_adlb: ADSL + validated LB -> ADLB (results/adam/adlb.parquet + .csv)."""

from fcrnpipe.derive import derive_adlb, load_ctcae, load_reference_ranges, write_dataset
from fcrnpipe.runner import analysis_params, run
from fcrnpipe.tableio import read_parquet
from fcrnpipe.units import load_unit_table


def main(smk):
    adlb = derive_adlb(
        read_parquet(smk.input.adsl),
        read_parquet(smk.input.lb),
        units=load_unit_table(smk.input.units),
        reference_ranges=load_reference_ranges(smk.input.reference_ranges),
        ctcae=load_ctcae(smk.input.ctcae),
        **analysis_params(smk),
    )
    write_dataset(adlb, smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
