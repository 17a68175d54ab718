# Stage rules: figures (docs/architecture.md, figures): rule `figure`, one job per figure (wildcard
# {name}); FIGURES: name -> inputs (only the datasets it draws), params, report category, code hash.

_ARMS_ALL = {"arms": config["study"]["arms"]}
_OVERALL = {"overall": {"label": config["study"]["overall_label"], "color": config["study"]["overall_color"]}}
_FIG_CODE = lib_code("figures", "labels", "frames", "stats")

FIGURES = {
    "igg_pct_baseline": Spec(
        {**adam("adlb", "adsl"), **ard_input("pd")}, {**_TRT, **_ARMS_ALL, **_DOSING, **_VISITS}, "PD", _FIG_CODE
    ),
    "aqp4_titre": Spec({**adam("adlb", "adsl"), **ard_input("pd")}, {**_TRT, **_ARMS_ALL, **_DOSING}, "PD", _FIG_CODE),
    "edss_paired": Spec(
        {**ard_input("edss"), **adam("adedss", "adsl")},
        {**_ARMS_ALL, **_OVERALL, "primary_visit": config["edss"]["primary_visit"]},
        "PD",
        _FIG_CODE,
    ),
    "albumin_cholesterol": Spec(
        {**ard_input("lab"), **adam("adlb", "adsl"), "ctcae": resource("ctcae.csv")},
        {
            **_TRT,
            **_ARMS_ALL,
            **_DOSING,
            **_VISITS,
            "albumin_paramcd": config.get("lab_grading", {}).get("hypoalbuminaemia", "ALB"),
        },
        "Safety",
        # ctcae.csv read with derive.grading.load_ctcae
        lib_code("figures", "labels", "frames", "stats", "derive", "resource_tables"),
    ),
    "pk_conc_time": Spec(
        {**adam("adpc", "adsl"), **ard_input("pk")}, {"arms": DOSED_ARMS, **_DOSING, **_TRT}, "PK", _FIG_CODE
    ),
    "ae_swimmer": Spec(
        {**adam("adae", "adsl", "adex"), **ard_input("disposition")}, {**_ARMS_ALL, **_TRT}, "Safety", _FIG_CODE
    ),
    "disposition_flow": Spec(
        ard_input("disposition"), {**_ARMS_ALL, **_OVERALL, **_TRT}, "Study population", _FIG_CODE
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
