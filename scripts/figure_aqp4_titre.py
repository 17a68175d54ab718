"""Rule figure_aqp4_titre: AQP4-IgG titre over time per subject (PNG + SVG); the subjects per arm
from the ARD part stats/parts/pd.csv."""

from fcrnpipe.figures import plot_aqp4_titre, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_aqp4_titre(
        read_parquet(smk.input.adlb), read_parquet(smk.input.adsl), p.arms, p.dosing_days, data_cut=p.data_cut, treatment=p.treatment,
        ard=read_ard(smk.input.ard),
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
