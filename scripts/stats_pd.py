"""Rule stats_pd: ADSL + ADLB -> the ARD part stats/parts/pd.csv: total IgG and AQP4-IgG
endpoints; the IgG figure's means by visit (display rows)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import part_ard, pd_part
from fcrnpipe.stats.efficacy import pd_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    adsl, adlb = read_parquet(smk.input.adsl), read_parquet(smk.input.adlb)
    ard = part_ard(pd_part(adsl, adlb, p.arms), pd_display_part(adsl, adlb, p.arms), p.arms, p.visits)
    write_csv(ard, smk.output.part)


run(main, snakemake)  # noqa: F821
