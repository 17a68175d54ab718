# Stage rules: stats (see docs/architecture.md for the conventions).
#
# One job per domain part, so that a change to one analysis dataset reruns only its part:
# stats_ae (ADSL, ADAE), stats_lab (ADSL, ADLB: albumin/cholesterol, CTCAE shifts),
# stats_disposition (ADSL, ADEX; also analysis-set sizes, demographics and the disposition flow
# figure's counts), stats_pd (ADSL, ADLB: IgG, AQP4-IgG), stats_edss (ADSL, ADEDSS). Each writes
# its share of the analysis results dataset (ARD) to results/stats/parts/<part>.csv: one row per
# endpoint x population x arm x visit x statistic x component (endpoint rows, and display rows
# for numbers only the tables and figures show). Display-only parts: stats_pk (ADSL, ADPC: the
# PK figure's geometric means), stats_pk_nca (pk/nca_summary.csv) and stats_pkpd
# (pkpd/population_parameters.csv), the PK and PK/PD stages' results in the ARD's long format.
# A table or figure reads only the parts it shows. stats_endpoints gathers the endpoint parts
# into the sorted results/stats/endpoints.csv (endpoint, population, arm, visit, n, statistic,
# estimate, ci_low, ci_high, ci_level, ci_bounds, p_value, method; it does not wait for the
# PK/PD fits); stats_ard gathers every part into results/stats/ard.csv.

STATS_PARTS = ["ae", "lab", "disposition", "pd", "edss"]
ARD_PARTS = STATS_PARTS + ["pk", "pk_nca", "pkpd"]
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
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
    script:
        "../../scripts/stats_pk.py"


rule stats_pk_nca:
    input:
        results=res("pk/nca_summary.csv"),
    output:
        part=res("stats/parts/pk_nca.csv"),
    log:
        logf("stats/stats_pk_nca.log"),
    benchmark:
        bench("stats/stats_pk_nca.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
        results="nca_summary",
    script:
        "../../scripts/stats_results_part.py"


rule stats_pkpd:
    input:
        results=res("pkpd/population_parameters.csv"),
    output:
        part=res("stats/parts/pkpd.csv"),
    log:
        logf("stats/stats_pkpd.log"),
    benchmark:
        bench("stats/stats_pkpd.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("stats", "frames"),
        arms=STATS_ARMS,
        visits=config["visits"],
        results="population_parameters",
    script:
        "../../scripts/stats_results_part.py"


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
