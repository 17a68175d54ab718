"""Rule figure_albumin_cholesterol: albumin, total and LDL cholesterol over time (PNG + SVG); mean ± SD
by visit from the ARD part stats/parts/lab.csv."""

import pandas as pd

from fcrnpipe.figures import ctcae_threshold, plot_albumin_cholesterol, save
from fcrnpipe.runner import run
from fcrnpipe.stats import read_ard
from fcrnpipe.tableio import read_parquet


def main(smk):
    p = smk.params
    threshold = ctcae_threshold(pd.read_csv(smk.input.ctcae, dtype=str), p.albumin_paramcd, 2)
    fig = plot_albumin_cholesterol(
        read_parquet(smk.input.adlb),
        read_parquet(smk.input.adsl),
        p.arms,
        p.dosing_days,
        p.visits,
        albumin_threshold=threshold,
        data_cut=p.data_cut,
        treatment=p.treatment,
        ard=read_ard(smk.input.ard),
    )
    save(fig, smk.output.png, smk.output.svg)


run(main, snakemake)  # noqa: F821
