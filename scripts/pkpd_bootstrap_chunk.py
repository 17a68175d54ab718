"""Rule pkpd_bootstrap_chunk: this chunk's bootstrap replicates -> pkpd/bootstrap/chunk_<i>-of-<n>.csv."""

from fcrnpipe.pkpd.stage import bootstrap_chunk
from fcrnpipe.runner import run


def main(smk):
    i = smk.input
    pk = {k[3:]: v for k, v in i.items() if k.startswith("pk_")}
    pd = {k[3:]: v for k, v in i.items() if k.startswith("pd_")}
    bootstrap_chunk(i.dataset, pk, pd, smk.output[0], scatteritem=smk.wildcards.scatteritem,
                    replicates=smk.params.replicates, seed=smk.params.seed, restarts=smk.params.restarts,
                    options=smk.params.options, stratify_on=smk.params.stratify_on)


run(main, snakemake)  # noqa: F821
