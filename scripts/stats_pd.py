"""Rule stats_pd: ADSL + ADLB -> the ARD part stats/parts/pd.csv: total IgG and AQP4-IgG endpoints."""

from fcrnpipe.runner import run
from fcrnpipe.stats import part_ard, pd_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    part = pd_part(read_parquet(smk.input.adsl), read_parquet(smk.input.adlb), p.arms)
    write_csv(part_ard(part, None, p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
