# Stage rules: figures (see docs/architecture.md for the conventions).
#
# One rule per figure, each reading only the analysis datasets it draws, so a change to one
# dataset (e.g. ADAE) reruns only the figures that read it. Library: fcrnpipe.figures; the PNG
# (300 dpi) goes into the report with its caption, the SVG is a plain output.

FIGURES = [
    "igg_pct_baseline",
    "aqp4_titre",
    "edss_paired",
    "albumin_cholesterol",
    "pk_conc_time",
    "ae_swimmer",
    "disposition_flow",
]


rule figure_igg_pct_baseline:
    input:
        adlb=res("adam/adlb.parquet"),
        adsl=res("adam/adsl.parquet"),
        ard=res("stats/parts/pd.csv"),
    output:
        png=report(
            res("figures/igg_pct_baseline.png"),
            caption="../report/fig_igg_pct_baseline.rst",
            category="PD",
            subcategory="Figures",
        ),
        svg=res("figures/igg_pct_baseline.svg"),
    log:
        logf("figures/igg_pct_baseline.log"),
    benchmark:
        bench("figures/igg_pct_baseline.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        dosing_days=config["study"]["dosing_days"],
        visits=config["visits"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_igg_pct_baseline.py"


rule figure_aqp4_titre:
    input:
        adlb=res("adam/adlb.parquet"),
        adsl=res("adam/adsl.parquet"),
    output:
        png=report(
            res("figures/aqp4_titre.png"),
            caption="../report/fig_aqp4_titre.rst",
            category="PD",
            subcategory="Figures",
        ),
        svg=res("figures/aqp4_titre.svg"),
    log:
        logf("figures/aqp4_titre.log"),
    benchmark:
        bench("figures/aqp4_titre.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        dosing_days=config["study"]["dosing_days"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_aqp4_titre.py"


rule figure_edss_paired:
    input:
        ard=res("stats/parts/edss.csv"),
        adedss=res("adam/adedss.parquet"),
        adsl=res("adam/adsl.parquet"),
    output:
        png=report(
            res("figures/edss_paired.png"),
            caption="../report/fig_edss_paired.rst",
            category="PD",
            subcategory="Figures",
        ),
        svg=res("figures/edss_paired.svg"),
    log:
        logf("figures/edss_paired.log"),
    benchmark:
        bench("figures/edss_paired.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        overall={
            "label": config["study"]["overall_label"],
            "color": config["study"]["overall_color"],
        },
        primary_visit=config["edss"]["primary_visit"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_edss_paired.py"


rule figure_albumin_cholesterol:
    input:
        ard=res("stats/parts/lab.csv"),
        adlb=res("adam/adlb.parquet"),
        adsl=res("adam/adsl.parquet"),
        ctcae=os.path.join(RESOURCES, "ctcae.csv"),
    output:
        png=report(
            res("figures/albumin_cholesterol.png"),
            caption="../report/fig_albumin_cholesterol.rst",
            category="Safety",
            subcategory="Figures",
        ),
        svg=res("figures/albumin_cholesterol.svg"),
    log:
        logf("figures/albumin_cholesterol.log"),
    benchmark:
        bench("figures/albumin_cholesterol.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        treatment=config["study"]["treatment"],
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        dosing_days=config["study"]["dosing_days"],
        visits=config["visits"],
        albumin_paramcd=config.get("lab_grading", {}).get("hypoalbuminaemia", "ALB"),
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_albumin_cholesterol.py"


rule figure_pk_conc_time:
    input:
        adpc=res("adam/adpc.parquet"),
        adsl=res("adam/adsl.parquet"),
    output:
        png=report(
            res("figures/pk_conc_time.png"),
            caption="../report/fig_pk_conc_time.rst",
            category="PK",
            subcategory="Figures",
        ),
        svg=res("figures/pk_conc_time.svg"),
    log:
        logf("figures/pk_conc_time.log"),
    benchmark:
        bench("figures/pk_conc_time.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=DOSED_ARMS,
        dosing_days=config["study"]["dosing_days"],
        treatment=config["study"]["treatment"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_pk_conc_time.py"


rule figure_ae_swimmer:
    input:
        adae=res("adam/adae.parquet"),
        adsl=res("adam/adsl.parquet"),
        adex=res("adam/adex.parquet"),
    output:
        png=report(
            res("figures/ae_swimmer.png"),
            caption="../report/fig_ae_swimmer.rst",
            category="Safety",
            subcategory="Figures",
        ),
        svg=res("figures/ae_swimmer.svg"),
    log:
        logf("figures/ae_swimmer.log"),
    benchmark:
        bench("figures/ae_swimmer.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        treatment=config["study"]["treatment"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_ae_swimmer.py"


rule figure_disposition_flow:
    input:
        adsl=res("adam/adsl.parquet"),
    output:
        png=report(
            res("figures/disposition_flow.png"),
            caption="../report/fig_disposition_flow.rst",
            category="Study population",
            subcategory="Figures",
        ),
        svg=res("figures/disposition_flow.svg"),
    log:
        logf("figures/disposition_flow.log"),
    benchmark:
        bench("figures/disposition_flow.tsv")
    conda:
        "../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=lib_code("figures", "labels", "frames", "stats"),
        arms=config["study"]["arms"],
        overall={
            "label": config["study"]["overall_label"],
            "color": config["study"]["overall_color"],
        },
        treatment=config["study"]["treatment"],
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure_disposition_flow.py"


TARGETS["figures"] = [
    res(f"figures/{name}.{ext}") for name in FIGURES for ext in ("png", "svg")
]
