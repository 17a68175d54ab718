"""Rule stats_pk: ADSL + ADPC -> the ARD part stats/parts/pk.csv: the PK concentration-time
figure's geometric means by nominal time and subjects per arm (display rows)."""

from fcrnpipe.runner import run
from fcrnpipe.stats import part_ard
from fcrnpipe.stats.descriptive import frame
from fcrnpipe.stats.pk import pk_display_part
from fcrnpipe.tableio import read_parquet, write_csv


def main(smk):
    p = smk.params
    display = pk_display_part(read_parquet(smk.input.adsl), read_parquet(smk.input.adpc), p.arms)
    write_csv(part_ard(frame([]), display, p.arms, p.visits), smk.output.part)


run(main, snakemake)  # noqa: F821
