"""Rule stats_edss: ADSL + ADEDSS -> the ARD part stats/parts/edss.csv: EDSS change, signed-rank test, Hodges-Lehmann."""

from fcrnpipe.runner import run
from fcrnpipe.stats import edss_endpoints, part_ard
from fcrnpipe.stats.efficacy import edss_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    adsl, adedss = read_parquet(smk.input.adsl), read_parquet(smk.input.adedss)
    part = edss_endpoints(adsl, adedss, p.arms, p.primary_visit, p.improvement)
    display = edss_display_part(adsl, adedss, p.arms, p.primary_visit)
    write_csv(part_ard(part, display, p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
