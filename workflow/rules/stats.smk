# Stage rules: stats (see docs/architecture.md for the conventions).
#
# One job per domain part, so that a change to one analysis dataset reruns only its part:
# stats_ae (ADSL, ADAE), stats_lab (ADSL, ADLB: albumin/cholesterol, CTCAE shifts),
# stats_disposition (ADSL, ADEX; also analysis-set sizes and demographics), stats_pd (ADSL, ADLB:
# IgG, AQP4-IgG), stats_edss (ADSL, ADEDSS). Each writes its share of the analysis results
# dataset (ARD) to results/stats/parts/<part>.csv: one row per endpoint x population x arm x
# visit x statistic x component (endpoint rows, and display rows for numbers only the tables
# show). A table reads only the parts it shows. stats_endpoints gathers the parts into
# results/stats/ard.csv and derives from it the sorted results/stats/endpoints.csv (endpoint,
# population, arm, visit, n, statistic, estimate, ci_low, ci_high, ci_level, ci_bounds, p_value,
# method).

STATS_PARTS = ["ae", "lab", "disposition", "pd", "edss"]
# only the arm codes: a change of an arm's label or colour does not rerun the statistics
STATS_ARMS = [a["armcd"] for a in config["study"]["arms"]]


rule stats_ae:
    input:
        adsl=res("adam/adsl.parquet"),
        adae=res("adam/adae.parquet"),
    output:
        part=res("stats/parts/ae.csv"),
    log:
        logf("stats/stats_ae.log"),
    benchmark:
        bench("stats/stats_ae.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
    script:
        "../../scripts/stats_ae.py"


rule stats_lab:
    input:
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
        ctcae=os.path.join(RESOURCES, "ctcae.csv"),
    output:
        part=res("stats/parts/lab.csv"),
    log:
        logf("stats/stats_lab.log"),
    benchmark:
        bench("stats/stats_lab.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
        grading=config["lab_grading"],
    script:
        "../../scripts/stats_lab.py"


rule stats_disposition:
    input:
        adsl=res("adam/adsl.parquet"),
        adex=res("adam/adex.parquet"),
    output:
        part=res("stats/parts/disposition.csv"),
    log:
        logf("stats/stats_disposition.log"),
    benchmark:
        bench("stats/stats_disposition.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
        treatment=config["study"]["treatment"],
        placebo=config["study"].get("placebo", "PLACEBO"),
    script:
        "../../scripts/stats_disposition.py"


rule stats_pd:
    input:
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
    output:
        part=res("stats/parts/pd.csv"),
    log:
        logf("stats/stats_pd.log"),
    benchmark:
        bench("stats/stats_pd.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
    script:
        "../../scripts/stats_pd.py"


rule stats_edss:
    input:
        adsl=res("adam/adsl.parquet"),
        adedss=res("adam/adedss.parquet"),
    output:
        part=res("stats/parts/edss.csv"),
    log:
        logf("stats/stats_edss.log"),
    benchmark:
        bench("stats/stats_edss.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
        primary_visit=config["edss"]["primary_visit"],
        improvement=config["edss"]["improvement"],
    script:
        "../../scripts/stats_edss.py"


rule stats_endpoints:
    input:
        parts=expand(res("stats/parts/{part}.csv"), part=STATS_PARTS),
    output:
        endpoints=report(
            res("stats/endpoints.csv"),
            caption="../report/stats_endpoints.rst",
            category="Endpoint statistics",
            subcategory="Endpoints",
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
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
    script:
        "../../scripts/stats_endpoints.py"


TARGETS["stats"] = [res("stats/endpoints.csv"), res("stats/ard.csv")]
