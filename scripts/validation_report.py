"""Rule validation_report: merge the per-domain failures into failures.csv and write report.html."""

from fcrnpipe.runner import run
from fcrnpipe.tableio import read_parquet
from fcrnpipe.validation import build_report, read_failures, write_failures, write_report


def main(smk):
    domains = list(smk.params.domains)
    typed = {d: read_parquet(p) for d, p in zip(domains, smk.input.typed)}
    failures = {d: read_failures(p) for d, p in zip(domains, smk.input.failures)}
    merged, html = build_report(domains, smk.params.files, typed, failures, smk.params.data_cut)
    write_failures(merged, smk.output.failures)
    write_report(html, smk.output.html)


run(main, snakemake)  # noqa: F821
