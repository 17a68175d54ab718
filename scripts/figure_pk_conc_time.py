"""Rule figure_pk_conc_time: batoclimab concentration-time, linear and log panels (PNG + SVG); the
geometric means and subjects per arm from the ARD part stats/parts/pk.csv."""

from fcrnpipe.figures import plot_pk_conc_time, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_pk_conc_time(
        read_parquet(smk.input.adpc),
        read_parquet(smk.input.adsl),
        p.arms,
        p.dosing_days,
        data_cut=p.data_cut,
        analyte=p.treatment.capitalize(),
        ard=read_ard(smk.input.ard),
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
