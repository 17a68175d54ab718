# Stage rules: figures (docs/architecture.md). One job per figure, rule `figure` with wildcard
# {name}: results/figures/<name>.png (300 dpi, in the report) and <name>.svg. FIGURES: name ->
# report category, named inputs (only the datasets it draws: a change to ADAE reruns only the
# figures that read it), params, library code hash; the builder is fcrnpipe.figures.registry,
# the caption the name's branch of workflow/report/figure.rst.

_ARMS_ALL = {"arms": config["study"]["arms"]}
_DOSING = {"dosing_days": config["study"]["dosing_days"]}
_OVERALL = {"overall": {"label": config["study"]["overall_label"], "color": config["study"]["overall_color"]}}
_FIG_CODE = lib_code("figures", "labels", "frames", "stats")

FIGURES = {
    "igg_pct_baseline": Spec(
        "PD",
        {**adam("adlb", "adsl"), **ard_input("pd")},
        {**_TRT, **_ARMS_ALL, **_DOSING, "visits": config["visits"]},
        _FIG_CODE,
    ),
    "aqp4_titre": Spec(
        "PD",
        {**adam("adlb", "adsl"), **ard_input("pd")},
        {**_TRT, **_ARMS_ALL, **_DOSING},
        _FIG_CODE,
    ),
    "edss_paired": Spec(
        "PD",
        {**ard_input("edss"), **adam("adedss", "adsl")},
        {**_ARMS_ALL, **_OVERALL, "primary_visit": config["edss"]["primary_visit"]},
        _FIG_CODE,
    ),
    "albumin_cholesterol": Spec(
        "Safety",
        {**ard_input("lab"), **adam("adlb", "adsl"), "ctcae": resource("ctcae.csv")},
        {
            **_TRT,
            **_ARMS_ALL,
            **_DOSING,
            "visits": config["visits"],
            "albumin_paramcd": config.get("lab_grading", {}).get("hypoalbuminaemia", "ALB"),
        },
        # ctcae.csv read with derive.grading.load_ctcae
        lib_code("figures", "labels", "frames", "stats", "derive", "resource_tables"),
    ),
    "pk_conc_time": Spec(
        "PK",
        {**adam("adpc", "adsl"), **ard_input("pk")},
        {"arms": DOSED_ARMS, **_DOSING, **_TRT},
        _FIG_CODE,
    ),
    "ae_swimmer": Spec(
        "Safety",
        {**adam("adae", "adsl", "adex"), **ard_input("disposition")},
        {**_ARMS_ALL, **_TRT},
        _FIG_CODE,
    ),
    "disposition_flow": Spec(
        "Study population",
        ard_input("disposition"),
        {**_ARMS_ALL, **_OVERALL, **_TRT},
        _FIG_CODE,
    ),
}


rule figure:
    input:
        unpack(lambda wc: FIGURES[wc.name].input),
    output:
        png=report(
            res("figures/{name}.png"),
            caption="../report/figure.rst",
            category=lambda wc: FIGURES[wc.name].category,
            subcategory="Figures",
        ),
        svg=res("figures/{name}.svg"),
    log:
        logf("figures/{name}.log"),
    benchmark:
        bench("figures/{name}.tsv")
    wildcard_constraints:
        name="|".join(FIGURES),
    conda:
        CONDA_ENV
    params:
        code=lambda wc: FIGURES[wc.name].code,
        figure=lambda wc: FIGURES[wc.name].params,
        data_cut=config["data_cut"],
    script:
        "../../scripts/figure.py"


TARGETS["figures"] = expand(res("figures/{name}.{ext}"), name=FIGURES, ext=["png", "svg"])
