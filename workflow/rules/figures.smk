# Stage rules: figures (see docs/architecture.md for the conventions).
#
# One rule per figure, each reading only the analysis datasets it draws, so a change to one
# dataset (e.g. ADAE) reruns only the figures that read it. Declarative: FIGURES (name -> report
# category, inputs, params) drives one rule definition, figure_<name>, with builder
# scripts/figure_<name>.py and caption workflow/report/fig_<name>.rst; threads and resources
# come from the profile. Library: fcrnpipe.figures; the PNG
# (300 dpi) goes into the report with its caption, the SVG is a plain output.

_ARMS_ALL = {"arms": config["study"]["arms"]}
_DOSING = {"dosing_days": config["study"]["dosing_days"]}
_OVERALL = {
    "overall": {
        "label": config["study"]["overall_label"],
        "color": config["study"]["overall_color"],
    }
}

# name -> report category, inputs, params (besides the library code hash and the data cut)
FIGURES = {
    "igg_pct_baseline": (
        "PD",
        {**adam("adlb", "adsl"), "ard": res("stats/parts/pd.csv")},
        {**_TRT, **_ARMS_ALL, **_DOSING, "visits": config["visits"]},
    ),
    "aqp4_titre": (
        "PD",
        {**adam("adlb", "adsl"), "ard": res("stats/parts/pd.csv")},
        {**_TRT, **_ARMS_ALL, **_DOSING},
    ),
    "edss_paired": (
        "PD",
        {"ard": res("stats/parts/edss.csv"), **adam("adedss", "adsl")},
        {
            **_ARMS_ALL,
            **_OVERALL,
            "primary_visit": config["edss"]["primary_visit"],
        },
    ),
    "albumin_cholesterol": (
        "Safety",
        {
            "ard": res("stats/parts/lab.csv"),
            **adam("adlb", "adsl"),
            "ctcae": resource("ctcae.csv"),
        },
        {
            **_TRT,
            **_ARMS_ALL,
            **_DOSING,
            "visits": config["visits"],
            "albumin_paramcd": config.get("lab_grading", {}).get(
                "hypoalbuminaemia", "ALB"
            ),
        },
    ),
    "pk_conc_time": (
        "PK",
        {**adam("adpc", "adsl"), "ard": res("stats/parts/pk.csv")},
        {"arms": DOSED_ARMS, **_DOSING, **_TRT},
    ),
    "ae_swimmer": ("Safety", adam("adae", "adsl", "adex"), {**_ARMS_ALL, **_TRT}),
    "disposition_flow": (
        "Study population",
        {"ard": res("stats/parts/disposition.csv")},
        {**_ARMS_ALL, **_OVERALL, **_TRT},
    ),
}
# A function, not a loop body: Snakemake evaluates a rule's script path again when the job
# runs, and a loop variable would by then hold the last entry. (snakefmt cannot parse a rule
# inside a function, hence fmt: off.)
# fmt: off
def _figure_rule(_name, _category, _input, _params):
    rule:
        name:
            f"figure_{_name}"
        input:
            **_input,
        output:
            png=report(
                res(f"figures/{_name}.png"),
                caption=f"../report/fig_{_name}.rst",
                category=_category,
                subcategory="Figures",
            ),
            svg=res(f"figures/{_name}.svg"),
        log:
            logf(f"figures/{_name}.log"),
        benchmark:
            bench(f"figures/{_name}.tsv")
        conda:
            CONDA_ENV
        params:
            **{
                "code": lib_code("figures", "labels", "frames", "stats"),
                **_params,
                "data_cut": config["data_cut"],
            },
        script:
            f"../../scripts/figure_{_name}.py"
# fmt: on
for _name, (_category, _input, _params) in FIGURES.items():
    _figure_rule(_name, _category, _input, _params)


TARGETS["figures"] = [
    res(f"figures/{name}.{ext}") for name in FIGURES for ext in ("png", "svg")
]
