# Stage rules: tables (docs/architecture.md, how a table renders from the ARD): rule `table`, one job per
# table (wildcard {name}); TABLES: name -> inputs (ARD parts + disposition), params, category, code hash.

_ARMS = {"arms": PLAIN_ARMS, "overall_label": config["study"]["overall_label"]}
_ARMS_TRT = {**_ARMS, **_TRT}
_CODE = ("tables", "stats", "labels", "frames")
_ARD_CODE = lib_code(*_CODE)
# units.csv read with units.load_unit_table
_UNITS_CODE = lib_code(*_CODE, "units", "resource_tables")
_DISPOSITION = {**adam("adsl"), **ard_input("disposition")}
_ADEX = {**adam("adsl", "adex"), **ard_input("disposition")}
_ADAE = {**adam("adsl", "adae"), **ard_input("ae", "disposition")}
_LAB = {**adam("adsl", "adlb"), **ard_input("lab", "disposition")}
_PD = {**adam("adsl", "adlb"), **ard_input("pd", "disposition")}

TABLES = {
    "demographics": Spec(_DISPOSITION, _ARMS_TRT, "Study population", _ARD_CODE),
    "disposition": Spec(_ADEX, {**_ARMS_TRT, **_PLACEBO}, "Study population", _ARD_CODE),
    "exposure": Spec(_ADEX, {**_ARMS_TRT, **_PLACEBO}, "Study population", _ARD_CODE),
    "teae_overview": Spec(_ADAE, _ARMS_TRT, "Safety", _ARD_CODE),
    "teae_soc_pt": Spec(_ADAE, _ARMS_TRT, "Safety", _ARD_CODE),
    "lab_shift": Spec(
        {**_LAB, "ctcae": resource("ctcae.csv")},
        {**_ARMS_TRT, "grading": config["lab_grading"]},
        "Safety",
        lib_code(*_CODE, "derive", "resource_tables"),  # ctcae.csv read with derive.grading.load_ctcae
    ),
    "albumin": Spec({**_LAB, **_UNITS}, _ARMS_TRT, "Safety", _UNITS_CODE),
    "cholesterol": Spec({**_LAB, **_UNITS}, _ARMS_TRT, "Safety", _UNITS_CODE),
    "igg": Spec({**_PD, **_UNITS}, _ARMS, "PD", _UNITS_CODE),
    "aqp4": Spec(_PD, _ARMS, "PD", _ARD_CODE),
    "edss": Spec(
        {**adam("adsl", "adedss"), **ard_input("edss", "disposition")}, {**_ARMS_TRT, **_EDSS}, "Efficacy", _ARD_CODE
    ),
    "published_vs_reproduced": Spec(
        {"endpoints": res("stats/endpoints.csv"), "findings": resource("published_findings.yaml")},
        {"arms": PLAIN_ARMS, **_VISITS, **_DOSING, "primary_visit": config["edss"]["primary_visit"]},
        "Published vs reproduced",
        lib_code(*_CODE, "findings"),
    ),
    "nca_summary": Spec(
        {"summary": res("pk/nca_summary.csv"), **ard_input("pk_nca", "disposition")},
        {**_TRT, "arms": PLAIN_DOSED_ARMS, "acceptance": config["nca"].get("acceptance", {})},
        "PK",
        lib_code("tables", "stats", "nca", "labels", "frames"),
    ),
    "pkpd_parameters": Spec(
        {"parameters": res("pkpd/population_parameters.csv"), **ard_input("pkpd")}, {}, "PK/PD model", _ARD_CODE
    ),
}


rule table:
    input:
        unpack(lambda wc: TABLES[wc.name].input),
    output:
        csv=res("tables/{name}.csv"),
        html=report(
            res("tables/{name}.html"),
            caption="../report/table.rst",
            category=lambda wc: TABLES[wc.name].category,
            subcategory="Tables",
        ),
    log:
        logf("tables/table_{name}.log"),
    benchmark:
        bench("tables/table_{name}.tsv")
    wildcard_constraints:
        name="|".join(TABLES),
    conda:
        CONDA_ENV
    params:
        code=lambda wc: TABLES[wc.name].code,
        table=lambda wc: TABLES[wc.name].params,
        data_cut=config["data_cut"],
    script:
        "../../scripts/table.py"


TARGETS["tables"] = expand(res("tables/{name}.{ext}"), name=TABLES, ext=["csv", "html"])
