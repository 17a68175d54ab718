"""Rule figure_igg_pct_baseline: total IgG % of baseline over time (PNG + SVG); the means, CIs and n
from the ARD part stats/parts/pd.csv."""

from fcrnpipe.figures import plot_igg_pct_baseline, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    fig = plot_igg_pct_baseline(
        read_parquet(smk.input.adlb), read_parquet(smk.input.adsl), p.arms, p.dosing_days, p.visits, data_cut=p.data_cut, treatment=p.treatment,
        ard=read_ard(smk.input.ard),
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
