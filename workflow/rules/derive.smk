# Stage rules: derive (docs/architecture.md, docs/datasets.md section 3). One job per analysis
# dataset, derive_<dataset> (scripts/derive_<dataset>.py), reading only the validated tables,
# earlier analysis datasets and resource tables (ADSL never reads ae: an AE update does not rerun
# it). DERIVE: dataset -> inputs, params (exactly the config values it uses).

# arms without their plotting colour
DERIVE_ARMS = [{k: arm[k] for k in ("armcd", "label", "dose_mg")} for arm in config["study"]["arms"]]


_BASELINE = {"baseline_rule": config["baseline"]["rule"], "same_day": config["baseline"]["same_day"]}
_QSTESTCD = {"qstestcd": config["edss"].get("qstestcd", "EDSS")}
_CENSORING = config["censoring"]

# dataset -> inputs, params (besides the library code hash)
DERIVE = {
    "adsl": Job(
        {**validated("dm", "ex", "ds", "vs", "lb", "pc", "qs"), **_UNITS},
        {
            "arms": DERIVE_ARMS,
            **_TRT,
            "pk_analyte": config["study"]["pk_analyte"],
            **_BASELINE,
            "lab_censoring": config["censoring"]["lab"],
            **_PLACEBO,
            **_QSTESTCD,
        },
    ),
    "adex": Job(validated("dm", "ex"), {"arms": DERIVE_ARMS, **_TRT, **_PLACEBO}),
    "adlb": Job(
        {
            **adam("adsl"),
            **validated("lb"),
            **_UNITS,
            "reference_ranges": resource("reference_ranges.csv"),
            "ctcae": resource("ctcae.csv"),
        },
        {
            "visits": config["visits"],
            **_BASELINE,
            "lab_censoring": config["censoring"]["lab"],
            "titre_censoring": config["censoring"]["titre"],
        },
    ),
    "adpc": Job(
        {**adam("adsl", "adex"), **validated("pc"), **_UNITS},
        {
            "visits": config["visits"],
            "dosing_days": config["study"]["dosing_days"],
            "pk_before_first_measurable": _CENSORING["pk_before_first_measurable"],
            "pk_after_first_measurable": _CENSORING["pk_after_first_measurable"],
            **_TRT,
            "pk_analyte": config["study"]["pk_analyte"],
        },
    ),
    "adedss": Job(
        {**adam("adsl"), **validated("qs")},
        {"visits": config["visits"], "improvement": config["edss"]["improvement"], **_BASELINE, **_QSTESTCD},
    ),
    "adae": Job(
        {**adam("adsl"), **validated("ae")},
        {"related_terms": config["ae"]["related_terms"], "teae_window_days": config["ae"]["teae_window_days"]},
    ),
}
# A function, not a loop body: Snakemake evaluates a rule's script path again when the job runs,
# when a loop variable would hold the last entry. (snakefmt cannot parse it, hence fmt: off.)
# fmt: off
def _derive_rule(_name, _input, _params):
    rule:
        name:
            f"derive_{_name}"
        input:
            **_input,
        output:
            parquet=res(f"adam/{_name}.parquet"),
            csv=res(f"adam/{_name}.csv"),
        log:
            logf(f"derive/derive_{_name}.log"),
        benchmark:
            bench(f"derive/derive_{_name}.tsv")
        conda:
            CONDA_ENV
        params:
            **{"code": lib_code("derive", "units", "resource_tables", "frames"), **_params},
        script:
            f"../../scripts/derive_{_name}.py"
# fmt: on
for _name, (_input, _params) in DERIVE.items():
    _derive_rule(_name, _input, _params)


TARGETS["derive"] = [res(f"adam/{name}.{ext}") for name in DERIVE for ext in ("parquet", "csv")]
