# Stage rules: stats (docs/architecture.md). One job per ARD part, rule `stats_part` with wildcard
# {part}, each writing its share of the analysis results dataset to results/stats/parts/<part>.csv.
# STATS_PARTS: part -> named inputs, params (besides the code hash, arms and visits); the adapter
# is fcrnpipe.stats.registry. Inputs and params are per job: a change to one part's reruns only
# that part. stats_endpoints gathers the endpoint parts into endpoints.csv (not waiting for the
# PK/PD fits); stats_ard gathers every part into ard.csv.

# only the arm codes: a change of an arm's label or colour does not rerun the statistics
_STATS = {
    "code": lib_code("stats", "frames"),
    "arms": [a["armcd"] for a in config["study"]["arms"]],
    "visits": config["visits"],
}

STATS_PARTS = {
    # endpoint parts (also display rows: the numbers only tables and figures show)
    "ae": Job(adam("adsl", "adae"), {}),
    # reads ctcae.csv with the validated loader (fcrnpipe.derive.grading): its code reruns the part
    "lab": Job(
        {**adam("adsl", "adlb"), "ctcae": resource("ctcae.csv")},
        {"grading": config["lab_grading"], "ctcae_code": lib_code("derive", "resource_tables")},
    ),
    # also analysis sets, demographics, the disposition flow's counts
    "disposition": Job(adam("adsl", "adex"), {**_TRT, **_PLACEBO}),
    "pd": Job(adam("adsl", "adlb"), {}),  # IgG, AQP4-IgG
    "edss": Job(adam("adsl", "adedss"), _EDSS),
    # display-only: the PK figure's summaries, the PK and PK/PD stages' results in long format
    "pk": Job(adam("adsl", "adpc"), {}),
    # reads the summary's notes back with fcrnpipe.nca.summary.parse_notes: an nca edit reruns it
    "pk_nca": Job({"results": res("pk/nca_summary.csv")}, {"nca_code": lib_code("nca")}),
    "pkpd": Job({"results": res("pkpd/population_parameters.csv")}, {}),
}
ENDPOINT_PARTS = ["ae", "lab", "disposition", "pd", "edss"]


rule stats_part:
    input:
        unpack(lambda wc: STATS_PARTS[wc.part].input),
    output:
        part=res("stats/parts/{part}.csv"),
    log:
        logf("stats/stats_{part}.log"),
    benchmark:
        bench("stats/stats_{part}.tsv")
    wildcard_constraints:
        part="|".join(STATS_PARTS),
    conda:
        CONDA_ENV
    params:
        **_STATS,
        part=lambda wc: STATS_PARTS[wc.part].params,
    script:
        "../../scripts/stats_part.py"


rule stats_endpoints:
    input:
        parts=stats_parts(ENDPOINT_PARTS),
    output:
        endpoints=reported("stats/endpoints.csv", "stats_endpoints", "Endpoint statistics", "Endpoints"),
    log:
        logf("stats/stats_endpoints.log"),
    benchmark:
        bench("stats/stats_endpoints.tsv")
    conda:
        CONDA_ENV
    resources:
        runtime=5,
    params:
        **_STATS,
    script:
        "../../scripts/stats_endpoints.py"


rule stats_ard:
    input:
        parts=stats_parts(STATS_PARTS),
    output:
        ard=res("stats/ard.csv"),
    log:
        logf("stats/stats_ard.log"),
    benchmark:
        bench("stats/stats_ard.tsv")
    conda:
        CONDA_ENV
    resources:
        runtime=5,
    params:
        **_STATS,
    script:
        "../../scripts/stats_ard.py"


TARGETS["stats"] = [res("stats/endpoints.csv"), res("stats/ard.csv")]
