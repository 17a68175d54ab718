# Stage rules: tables (see docs/architecture.md for the conventions).
#
# One job per CSR-style table: results/tables/<name>.csv (machine-readable, unrounded) and
# results/tables/<name>.html (formatted, self-contained; shown in the report). Every number of
# the endpoint tables comes from the analysis results dataset, the parts of it they show
# (stats/parts/<part>.csv; no table recomputes a statistic); the ADaM inputs they also list give labels only (units, the AE
# severity scale). published_vs_reproduced compares stats/endpoints.csv with the published findings
# of resources/published_findings.yaml.

# The ARD parts (stats/parts/<part>.csv) each table shows; every table also reads the
# disposition part for the analysis-set sizes of its column headers. A data change reruns only
# the tables of the parts it changes.
TABLE_ARD = {
    "demographics": ["disposition"],
    "disposition": ["disposition"],
    "exposure": ["disposition"],
    "teae_overview": ["ae", "disposition"],
    "teae_soc_pt": ["ae", "disposition"],
    "lab_shift": ["lab", "disposition"],
    "albumin": ["lab", "disposition"],
    "cholesterol": ["lab", "disposition"],
    "igg": ["pd", "disposition"],
    "aqp4": ["pd", "disposition"],
    "edss": ["edss", "disposition"],
}


# arm code, label and dose only: an arm colour change does not rerun the tables
TABLE_ARMS = [
    {"armcd": a["armcd"], "label": a["label"], "dose_mg": a["dose_mg"]}
    for a in config["study"]["arms"]
]


rule table_demographics:
    input:
        ard=ard_parts(TABLE_ARD["demographics"]),
        adsl=res("adam/adsl.parquet"),
    output:
        csv=res("tables/demographics.csv"),
        html=report(
            res("tables/demographics.html"),
            caption="../report/table_demographics.rst",
            category="Study population",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_demographics.log"),
    benchmark:
        bench("tables/table_demographics.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        treatment=config["study"]["treatment"],
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_demographics.py"


rule table_disposition:
    input:
        ard=ard_parts(TABLE_ARD["disposition"]),
        adsl=res("adam/adsl.parquet"),
        adex=res("adam/adex.parquet"),
    output:
        csv=res("tables/disposition.csv"),
        html=report(
            res("tables/disposition.html"),
            caption="../report/table_disposition.rst",
            category="Study population",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_disposition.log"),
    benchmark:
        bench("tables/table_disposition.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        treatment=config["study"]["treatment"],
        placebo=config["study"].get("placebo", "PLACEBO"),
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_disposition.py"


rule table_exposure:
    input:
        ard=ard_parts(TABLE_ARD["exposure"]),
        adsl=res("adam/adsl.parquet"),
        adex=res("adam/adex.parquet"),
    output:
        csv=res("tables/exposure.csv"),
        html=report(
            res("tables/exposure.html"),
            caption="../report/table_exposure.rst",
            category="Study population",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_exposure.log"),
    benchmark:
        bench("tables/table_exposure.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        treatment=config["study"]["treatment"],
        placebo=config["study"].get("placebo", "PLACEBO"),
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_exposure.py"


rule table_teae_overview:
    input:
        ard=ard_parts(TABLE_ARD["teae_overview"]),
        adsl=res("adam/adsl.parquet"),
        adae=res("adam/adae.parquet"),
    output:
        csv=res("tables/teae_overview.csv"),
        html=report(
            res("tables/teae_overview.html"),
            caption="../report/table_teae_overview.rst",
            category="Safety",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_teae_overview.log"),
    benchmark:
        bench("tables/table_teae_overview.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        treatment=config["study"]["treatment"],
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_teae_overview.py"


rule table_teae_soc_pt:
    input:
        ard=ard_parts(TABLE_ARD["teae_soc_pt"]),
        adsl=res("adam/adsl.parquet"),
        adae=res("adam/adae.parquet"),
    output:
        csv=res("tables/teae_soc_pt.csv"),
        html=report(
            res("tables/teae_soc_pt.html"),
            caption="../report/table_teae_soc_pt.rst",
            category="Safety",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_teae_soc_pt.log"),
    benchmark:
        bench("tables/table_teae_soc_pt.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_teae_soc_pt.py"


rule table_lab_shift:
    input:
        ard=ard_parts(TABLE_ARD["lab_shift"]),
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
        ctcae=os.path.join(RESOURCES, "ctcae.csv"),
    output:
        csv=res("tables/lab_shift.csv"),
        html=report(
            res("tables/lab_shift.html"),
            caption="../report/table_lab_shift.rst",
            category="Safety",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_lab_shift.log"),
    benchmark:
        bench("tables/table_lab_shift.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        grading=config["lab_grading"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_lab_shift.py"


rule table_albumin:
    input:
        ard=ard_parts(TABLE_ARD["albumin"]),
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
        units=os.path.join(RESOURCES, "units.csv"),
    output:
        csv=res("tables/albumin.csv"),
        html=report(
            res("tables/albumin.html"),
            caption="../report/table_albumin.rst",
            category="Safety",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_albumin.log"),
    benchmark:
        bench("tables/table_albumin.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_albumin.py"


rule table_cholesterol:
    input:
        ard=ard_parts(TABLE_ARD["cholesterol"]),
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
        units=os.path.join(RESOURCES, "units.csv"),
    output:
        csv=res("tables/cholesterol.csv"),
        html=report(
            res("tables/cholesterol.html"),
            caption="../report/table_cholesterol.rst",
            category="Safety",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_cholesterol.log"),
    benchmark:
        bench("tables/table_cholesterol.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_cholesterol.py"


rule table_igg:
    input:
        ard=ard_parts(TABLE_ARD["igg"]),
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
        units=os.path.join(RESOURCES, "units.csv"),
    output:
        csv=res("tables/igg.csv"),
        html=report(
            res("tables/igg.html"),
            caption="../report/table_igg.rst",
            category="PD",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_igg.log"),
    benchmark:
        bench("tables/table_igg.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_igg.py"


rule table_aqp4:
    input:
        ard=ard_parts(TABLE_ARD["aqp4"]),
        adsl=res("adam/adsl.parquet"),
        adlb=res("adam/adlb.parquet"),
    output:
        csv=res("tables/aqp4.csv"),
        html=report(
            res("tables/aqp4.html"),
            caption="../report/table_aqp4.rst",
            category="PD",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_aqp4.log"),
    benchmark:
        bench("tables/table_aqp4.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_aqp4.py"


rule table_edss:
    input:
        ard=ard_parts(TABLE_ARD["edss"]),
        adsl=res("adam/adsl.parquet"),
        adedss=res("adam/adedss.parquet"),
    output:
        csv=res("tables/edss.csv"),
        html=report(
            res("tables/edss.html"),
            caption="../report/table_edss.rst",
            category="Efficacy",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_edss.log"),
    benchmark:
        bench("tables/table_edss.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "labels", "frames"),
        arms=TABLE_ARMS,
        overall_label=config["study"]["overall_label"],
        primary_visit=config["edss"]["primary_visit"],
        improvement=config["edss"]["improvement"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_edss.py"


rule table_published_vs_reproduced:
    input:
        endpoints=res("stats/endpoints.csv"),
        findings=os.path.join(RESOURCES, "published_findings.yaml"),
    output:
        csv=res("tables/published_vs_reproduced.csv"),
        html=report(
            res("tables/published_vs_reproduced.html"),
            caption="../report/table_published_vs_reproduced.rst",
            category="Published vs reproduced",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_published_vs_reproduced.log"),
    benchmark:
        bench("tables/table_published_vs_reproduced.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames", "findings"),
        arms=TABLE_ARMS,
        visits=config["visits"],
        dosing_days=config["study"]["dosing_days"],
        primary_visit=config["edss"]["primary_visit"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_published_vs_reproduced.py"


rule table_nca_summary:
    input:
        summary=res("pk/nca_summary.csv"),
        nca=res("pk/nca.csv"),
        adsl=res("adam/adsl.parquet"),
    output:
        csv=res("tables/nca_summary.csv"),
        html=report(
            res("tables/nca_summary.html"),
            caption="../report/table_nca_summary.rst",
            category="PK",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_nca_summary.log"),
    benchmark:
        bench("tables/table_nca_summary.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("tables", "stats", "nca", "labels", "frames"),
        arms=[a for a in TABLE_ARMS if float(a["dose_mg"]) > 0],
        data_cut=config["data_cut"],
        acceptance=config["nca"].get("acceptance", {}),
    script:
        "../../scripts/table_nca_summary.py"


rule table_pkpd_parameters:
    input:
        parameters=res("pkpd/population_parameters.csv"),
    output:
        csv=res("tables/pkpd_parameters.csv"),
        html=report(
            res("tables/pkpd_parameters.html"),
            caption="../report/table_pkpd_parameters.rst",
            category="PK/PD model",
            subcategory="Tables",
        ),
    log:
        logf("tables/table_pkpd_parameters.log"),
    benchmark:
        bench("tables/table_pkpd_parameters.tsv")
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("tables", "stats", "labels", "frames"),
        data_cut=config["data_cut"],
    script:
        "../../scripts/table_pkpd_parameters.py"


TARGETS["tables"] = [
    res(f"tables/{name}.{ext}")
    for name in [
        "demographics",
        "disposition",
        "exposure",
        "teae_overview",
        "teae_soc_pt",
        "lab_shift",
        "albumin",
        "cholesterol",
        "igg",
        "aqp4",
        "edss",
        "published_vs_reproduced",
        "nca_summary",
        "pkpd_parameters",
    ]
    for ext in ("csv", "html")
]
