# Stage rules: stats (docs/architecture.md, the ARD): rule `stats_part`, one job per ARD part (wildcard
# {part}; STATS_PARTS: part -> inputs, params), gathered into endpoints.csv and ard.csv.

# only the arm codes: a change of an arm's label or colour does not rerun the statistics
_STATS = {"code": lib_code("stats", "frames"), "arms": [a["armcd"] for a in config["study"]["arms"]], **_VISITS}

STATS_PARTS = {
    # endpoint parts (also display rows: the numbers only tables and figures show)
    "ae": Spec(adam("adsl", "adae"), {}),
    # reads ctcae.csv with the validated loader (fcrnpipe.derive.grading): its code reruns the part
    "lab": Spec(
        {**adam("adsl", "adlb"), "ctcae": resource("ctcae.csv")},
        {"grading": config["lab_grading"], "ctcae_code": lib_code("derive", "resource_tables")},
    ),
    # also analysis sets, demographics, the disposition flow's counts
    "disposition": Spec(adam("adsl", "adex"), {**_TRT, **_PLACEBO}),
    "pd": Spec(adam("adsl", "adlb"), {}),  # IgG, AQP4-IgG
    "edss": Spec(adam("adsl", "adedss"), _EDSS),
    # display-only: the PK figure's summaries, the PK and PK/PD stages' results in long format
    "pk": Spec(adam("adsl", "adpc"), {}),
    # reads the summary's notes back with fcrnpipe.nca.summary.parse_notes: an nca edit reruns it
    "pk_nca": Spec({"results": res("pk/nca_summary.csv")}, {"nca_code": lib_code("nca")}),
    "pkpd": Spec({"results": res("pkpd/population_parameters.csv")}, {}),
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
