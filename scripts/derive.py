"""Rule derive: one analysis dataset by name (wildcard ``dataset``) -> results/adam/<dataset>.parquet
+ .csv; the adapter is the dataset's entry of fcrnpipe.derive.registry."""

from fcrnpipe.derive import write_dataset
from fcrnpipe.derive.registry import build_dataset
from fcrnpipe.runner import run


def main(smk):
    write_dataset(build_dataset(smk), smk.output.parquet, smk.output.csv)


run(main, snakemake)  # noqa: F821
