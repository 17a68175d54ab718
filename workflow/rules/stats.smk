# Stage rules: stats (docs/architecture.md). One job per ARD part, each writing its share of
# the analysis results dataset to results/stats/parts/<part>.csv: stats_ae (ADSL, ADAE),
# stats_lab (ADSL, ADLB), stats_disposition (ADSL, ADEX: also analysis sets, demographics, the
# disposition flow's counts), stats_pd (ADSL, ADLB: IgG, AQP4-IgG), stats_edss (ADSL, ADEDSS);
# display-only: stats_pk (ADSL, ADPC) and stats_results (pk_nca: pk/nca_summary.csv, pkpd:
# pkpd/population_parameters.csv). stats_endpoints gathers the endpoint parts into
# endpoints.csv (not waiting for the PK/PD fits); stats_ard gathers every part into ard.csv.

STATS_PARTS = ["ae", "lab", "disposition", "pd", "edss"]
ARD_PARTS = STATS_PARTS + ["pk", "pk_nca", "pkpd"]
# only the arm codes: a change of an arm's label or colour does not rerun the statistics
STATS_ARMS = [a["armcd"] for a in config["study"]["arms"]]
_STATS = {
    "code": lib_code("stats", "frames"),
    "arms": STATS_ARMS,
    "visits": config["visits"],
}


rule stats_ae:
    input:
        **adam("adsl", "adae"),
    output:
        part=res("stats/parts/ae.csv"),
    log:
        logf("stats/stats_ae.log"),
    benchmark:
        bench("stats/stats_ae.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
    script:
        "../../scripts/stats_ae.py"


rule stats_lab:
    input:
        **adam("adsl", "adlb"),
        ctcae=resource("ctcae.csv"),
    output:
        part=res("stats/parts/lab.csv"),
    log:
        logf("stats/stats_lab.log"),
    benchmark:
        bench("stats/stats_lab.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
        grading=config["lab_grading"],
    script:
        "../../scripts/stats_lab.py"


rule stats_disposition:
    input:
        **adam("adsl", "adex"),
    output:
        part=res("stats/parts/disposition.csv"),
    log:
        logf("stats/stats_disposition.log"),
    benchmark:
        bench("stats/stats_disposition.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
        treatment=config["study"]["treatment"],
        placebo=config["study"].get("placebo", "PLACEBO"),
    script:
        "../../scripts/stats_disposition.py"


rule stats_pd:
    input:
        **adam("adsl", "adlb"),
    output:
        part=res("stats/parts/pd.csv"),
    log:
        logf("stats/stats_pd.log"),
    benchmark:
        bench("stats/stats_pd.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
    script:
        "../../scripts/stats_pd.py"


rule stats_edss:
    input:
        **adam("adsl", "adedss"),
    output:
        part=res("stats/parts/edss.csv"),
    log:
        logf("stats/stats_edss.log"),
    benchmark:
        bench("stats/stats_edss.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
        primary_visit=config["edss"]["primary_visit"],
        improvement=config["edss"]["improvement"],
    script:
        "../../scripts/stats_edss.py"


rule stats_pk:
    input:
        adsl=res("adam/adsl.parquet"),
        adpc=res("adam/adpc.parquet"),
    output:
        part=res("stats/parts/pk.csv"),
    log:
        logf("stats/stats_pk.log"),
    benchmark:
        bench("stats/stats_pk.tsv")
    conda:
        CONDA_ENV
    params:
        **_STATS,
    script:
        "../../scripts/stats_pk.py"


# part -> the PK or PK/PD stage's results file it holds in the ARD's long format
STATS_RESULTS = {
    "pk_nca": "pk/nca_summary.csv",
    "pkpd": "pkpd/population_parameters.csv",
}


rule stats_results:
    input:
        results=lambda wc: res(STATS_RESULTS[wc.part]),
    output:
        part=res("stats/parts/{part}.csv"),
    log:
        logf("stats/stats_{part}.log"),
    benchmark:
        bench("stats/stats_{part}.tsv")
    wildcard_constraints:
        part="|".join(STATS_RESULTS),
    conda:
        CONDA_ENV
    params:
        **_STATS,
    script:
        "../../scripts/stats_results_part.py"


rule stats_endpoints:
    input:
        parts=expand(res("stats/parts/{part}.csv"), part=STATS_PARTS),
    output:
        endpoints=reported(
            "stats/endpoints.csv",
            "stats_endpoints",
            "Endpoint statistics",
            "Endpoints",
        ),
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
        parts=expand(res("stats/parts/{part}.csv"), part=ARD_PARTS),
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
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
    script:
        "../../scripts/stats_ard.py"


TARGETS["stats"] = [res("stats/endpoints.csv"), res("stats/ard.csv")]
