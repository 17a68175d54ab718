# Stage rules: derive (docs/architecture.md, docs/datasets.md section 3): rule `derive`, one job per
# analysis dataset (wildcard {dataset}); DERIVE: dataset -> inputs, params (the config values it uses).

_BASELINE = {"baseline_rule": config["baseline"]["rule"], "same_day": config["baseline"]["same_day"]}
_QSTESTCD = {"qstestcd": config["edss"].get("qstestcd", "EDSS")}
_LAB_CENSORING = {"lab_censoring": config["censoring"]["lab"]}
_PK_ANALYTE = {"pk_analyte": config["study"]["pk_analyte"]}

DERIVE = {
    "adsl": Spec(
        {**validated("dm", "ex", "ds", "vs", "lb", "pc", "qs"), **_UNITS},
        {"arms": PLAIN_ARMS, **_TRT, **_PK_ANALYTE, **_BASELINE, **_LAB_CENSORING, **_PLACEBO, **_QSTESTCD},
    ),
    "adex": Spec(validated("dm", "ex"), {"arms": PLAIN_ARMS, **_TRT, **_PLACEBO}),
    "adlb": Spec(
        {
            **adam("adsl"),
            **validated("lb"),
            **_UNITS,
            "reference_ranges": resource("reference_ranges.csv"),
            "ctcae": resource("ctcae.csv"),
        },
        {**_VISITS, **_BASELINE, **_LAB_CENSORING, "titre_censoring": config["censoring"]["titre"]},
    ),
    "adpc": Spec(
        {**adam("adsl", "adex"), **validated("pc"), **_UNITS},
        {
            **_VISITS,
            **_DOSING,
            **{k: config["censoring"][k] for k in ("pk_before_first_measurable", "pk_after_first_measurable")},
            **_TRT,
            **_PK_ANALYTE,
        },
    ),
    "adedss": Spec(
        {**adam("adsl"), **validated("qs")},
        {**_VISITS, "improvement": config["edss"]["improvement"], **_BASELINE, **_QSTESTCD},
    ),
    "adae": Spec(
        {**adam("adsl"), **validated("ae")},
        {k: config["ae"][k] for k in ("related_terms", "teae_window_days")},
    ),
}


rule derive:
    input:
        unpack(lambda wc: DERIVE[wc.dataset].input),
    output:
        parquet=res("adam/{dataset}.parquet"),
        csv=res("adam/{dataset}.csv"),
    log:
        logf("derive/derive_{dataset}.log"),
    benchmark:
        bench("derive/derive_{dataset}.tsv")
    wildcard_constraints:
        dataset="|".join(DERIVE),
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "resource_tables", "frames"),
        dataset=lambda wc: DERIVE[wc.dataset].params,
    script:
        "../../scripts/derive.py"


TARGETS["derive"] = expand(res("adam/{dataset}.{ext}"), dataset=DERIVE, ext=["parquet", "csv"])
