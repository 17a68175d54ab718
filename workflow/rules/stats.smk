# Stage rules: stats (docs/architecture.md). One job per ADaM domain part, each writing its
# share of the analysis results dataset (ARD) to results/stats/parts/<part>.csv: stats_ae
# (ADSL, ADAE), stats_lab (ADSL, ADLB: albumin/cholesterol, CTCAE shifts), stats_disposition
# (ADSL, ADEX: also analysis-set sizes, demographics), stats_pd (ADSL, ADLB: IgG, AQP4-IgG),
# stats_edss (ADSL, ADEDSS). stats_endpoints gathers them into stats/ard.csv and endpoints.csv.

STATS_PARTS = ["ae", "lab", "disposition", "pd", "edss"]
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
        ard=res("stats/ard.csv"),
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


TARGETS["stats"] = [res("stats/endpoints.csv"), res("stats/ard.csv")]
