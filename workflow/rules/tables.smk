# Stage rules: tables (docs/architecture.md). One job per CSR-style table, rule `table` with
# wildcard {name}: results/tables/<name>.csv (unrounded) and <name>.html (in the report).
# TABLES: name -> report category, named inputs, params, library code hash; the builder is
# fcrnpipe.tables.registry, the caption the name's branch of workflow/report/table.rst.
# Every number of an endpoint table comes from the ARD parts it reads (`ard`: the parts it
# shows, then the disposition part for the analysis-set sizes); its ADaM inputs give labels only.
# Inputs and params are per job: a change to one table's reruns only that table.

# arm code, label and dose only: an arm colour change does not rerun the tables
TABLE_ARMS = [{"armcd": a["armcd"], "label": a["label"], "dose_mg": a["dose_mg"]} for a in config["study"]["arms"]]
_ARMS = {"arms": TABLE_ARMS, "overall_label": config["study"]["overall_label"]}
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
    "demographics": Spec("Study population", _DISPOSITION, _ARMS_TRT, _ARD_CODE),
    "disposition": Spec("Study population", _ADEX, {**_ARMS_TRT, **_PLACEBO}, _ARD_CODE),
    "exposure": Spec("Study population", _ADEX, {**_ARMS_TRT, **_PLACEBO}, _ARD_CODE),
    "teae_overview": Spec("Safety", _ADAE, _ARMS_TRT, _ARD_CODE),
    "teae_soc_pt": Spec("Safety", _ADAE, _ARMS_TRT, _ARD_CODE),
    "lab_shift": Spec(
        "Safety",
        {**_LAB, "ctcae": resource("ctcae.csv")},
        {**_ARMS_TRT, "grading": config["lab_grading"]},
        # ctcae.csv read with derive.grading.load_ctcae
        lib_code(*_CODE, "derive", "resource_tables"),
    ),
    "albumin": Spec("Safety", {**_LAB, **_UNITS}, _ARMS_TRT, _UNITS_CODE),
    "cholesterol": Spec("Safety", {**_LAB, **_UNITS}, _ARMS_TRT, _UNITS_CODE),
    "igg": Spec("PD", {**_PD, **_UNITS}, _ARMS, _UNITS_CODE),
    "aqp4": Spec("PD", _PD, _ARMS, _ARD_CODE),
    "edss": Spec(
        "Efficacy",
        {**adam("adsl", "adedss"), **ard_input("edss", "disposition")},
        {**_ARMS_TRT, **_EDSS},
        _ARD_CODE,
    ),
    "published_vs_reproduced": Spec(
        "Published vs reproduced",
        {"endpoints": res("stats/endpoints.csv"), "findings": resource("published_findings.yaml")},
        {
            "arms": TABLE_ARMS,
            "visits": config["visits"],
            "dosing_days": config["study"]["dosing_days"],
            "primary_visit": config["edss"]["primary_visit"],
        },
        lib_code(*_CODE, "findings"),
    ),
    "nca_summary": Spec(
        "PK",
        {"summary": res("pk/nca_summary.csv"), **ard_input("pk_nca", "disposition")},
        {
            **_TRT,
            "arms": [a for a in TABLE_ARMS if float(a["dose_mg"]) > 0],
            "acceptance": config["nca"].get("acceptance", {}),
        },
        lib_code("tables", "stats", "nca", "labels", "frames"),
    ),
    "pkpd_parameters": Spec(
        "PK/PD model",
        {"parameters": res("pkpd/population_parameters.csv"), **ard_input("pkpd")},
        {},
        _ARD_CODE,
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
