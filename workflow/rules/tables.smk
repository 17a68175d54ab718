# Stage rules: tables (see docs/architecture.md for the conventions).
#
# One job per CSR-style table: results/tables/<name>.csv (machine-readable, unrounded) and
# results/tables/<name>.html (formatted, self-contained; shown in the report). Every number of
# the endpoint tables comes from the analysis results dataset, the parts of it they show
# (stats/parts/<part>.csv; no table recomputes a statistic); the ADaM inputs they also list give labels only (units, the AE
# severity scale). published_vs_reproduced compares stats/endpoints.csv with the published findings
# of resources/published_findings.yaml.
#
# Declarative: TABLES (name -> report category, inputs, params) drives one rule definition,
# table_<name>, with builder scripts/table_<name>.py and caption workflow/report/table_<name>.rst.
# Each table is its own rule with its own inputs and params, so a change to one table's inputs
# or params reruns only that table. Threads and resources come from the profile.

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
    "nca_summary": ["pk_nca", "disposition"],
    "pkpd_parameters": ["pkpd"],
}


# arm code, label and dose only: an arm colour change does not rerun the tables
TABLE_ARMS = [
    {"armcd": a["armcd"], "label": a["label"], "dose_mg": a["dose_mg"]}
    for a in config["study"]["arms"]
]


_STUDY = config["study"]
_CODE = ("tables", "stats", "labels", "frames")
_ARMS = {"arms": TABLE_ARMS, "overall_label": _STUDY["overall_label"]}

# name -> report category, inputs (besides the ARD parts of TABLE_ARD), params (besides the
# data cut and the hash of the library modules in _CODE, which an entry's own "code" replaces)
TABLES = {
    "demographics": ("Study population", adam("adsl"), {**_ARMS, **_TRT}),
    "disposition": (
        "Study population",
        adam("adsl", "adex"),
        {**_ARMS, **_TRT, **_PLACEBO},
    ),
    "exposure": (
        "Study population",
        adam("adsl", "adex"),
        {**_ARMS, **_TRT, **_PLACEBO},
    ),
    "teae_overview": ("Safety", adam("adsl", "adae"), {**_ARMS, **_TRT}),
    "teae_soc_pt": ("Safety", adam("adsl", "adae"), {**_ARMS, **_TRT}),
    "lab_shift": (
        "Safety",
        {**adam("adsl", "adlb"), "ctcae": resource("ctcae.csv")},
        {**_ARMS, **_TRT, "grading": config["lab_grading"]},
    ),
    "albumin": ("Safety", {**adam("adsl", "adlb"), **_UNITS}, {**_ARMS, **_TRT}),
    "cholesterol": ("Safety", {**adam("adsl", "adlb"), **_UNITS}, {**_ARMS, **_TRT}),
    "igg": ("PD", {**adam("adsl", "adlb"), **_UNITS}, _ARMS),
    "aqp4": ("PD", adam("adsl", "adlb"), _ARMS),
    "edss": (
        "Efficacy",
        adam("adsl", "adedss"),
        {
            **_ARMS,
            **_TRT,
            "primary_visit": config["edss"]["primary_visit"],
            "improvement": config["edss"]["improvement"],
        },
    ),
    "published_vs_reproduced": (
        "Published vs reproduced",
        {
            "endpoints": res("stats/endpoints.csv"),
            "findings": resource("published_findings.yaml"),
        },
        {
            "code": lib_code(*_CODE, "findings"),
            "arms": TABLE_ARMS,
            "visits": config["visits"],
            "dosing_days": _STUDY["dosing_days"],
            "primary_visit": config["edss"]["primary_visit"],
        },
    ),
    "nca_summary": (
        "PK",
        {
            "summary": res("pk/nca_summary.csv"),
            "nca": res("pk/nca.csv"),
        },
        {
            **_TRT,
            "code": lib_code("tables", "stats", "nca", "labels", "frames"),
            "arms": [a for a in TABLE_ARMS if float(a["dose_mg"]) > 0],
            "acceptance": config["nca"].get("acceptance", {}),
        },
    ),
    "pkpd_parameters": (
        "PK/PD model",
        {"parameters": res("pkpd/population_parameters.csv")},
        {},
    ),
}
# A function, not a loop body: Snakemake evaluates a rule's script path again when the job
# runs, and a loop variable would by then hold the last entry. (snakefmt cannot parse a rule
# inside a function, hence fmt: off.)
# fmt: off
def _table_rule(_name, _category, _input, _params):
    rule:
        name:
            f"table_{_name}"
        input:
            **({"ard": ard_parts(TABLE_ARD[_name])} if _name in TABLE_ARD else {}),
            **_input,
        output:
            csv=res(f"tables/{_name}.csv"),
            html=report(
                res(f"tables/{_name}.html"),
                caption=f"../report/table_{_name}.rst",
                category=_category,
                subcategory="Tables",
            ),
        log:
            logf(f"tables/table_{_name}.log"),
        benchmark:
            bench(f"tables/table_{_name}.tsv")
        conda:
            CONDA_ENV
        params:
            **{"code": lib_code(*_CODE), **_params, "data_cut": config["data_cut"]},
        script:
            f"../../scripts/table_{_name}.py"
# fmt: on
for _name, (_category, _input, _params) in TABLES.items():
    _table_rule(_name, _category, _input, _params)


TARGETS["tables"] = [
    res(f"tables/{name}.{ext}") for name in TABLES for ext in ("csv", "html")
]
