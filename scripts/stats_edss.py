"""Rule stats_edss: ADSL + ADEDSS -> EDSS change, signed-rank test, Hodges-Lehmann (stats/parts/edss.csv)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import edss_endpoints
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    adsl, adedss = read_parquet(smk.input.adsl), read_parquet(smk.input.adedss)
    write_csv(edss_endpoints(adsl, adedss, p.arms, p.primary_visit, p.improvement), smk.output.part)


run(main, snakemake)  # noqa: F821
