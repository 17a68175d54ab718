# Stage rules: derive (see docs/architecture.md for the conventions).
#
# One job per analysis dataset (docs/datasets.md section 3), reading only the validated tables
# results/validation/<domain>.parquet, earlier analysis datasets and the resource tables:
#   derive_adsl   dm, ex, ds, vs, lb, pc, qs (never ae: an AE update does not rerun ADSL)
#   derive_adex   dm, ex
#   derive_adlb   ADSL, lb          derive_adpc   ADSL, ADEX, pc
#   derive_adedss ADSL, qs          derive_adae   ADSL, ae
# Each rule's params hold exactly the config values it uses, so a config change reruns only
# the datasets it affects (an arm's colour reruns nothing here).

ADAM = ["adsl", "adex", "adlb", "adpc", "adedss", "adae"]
# arms without their plotting colour
DERIVE_ARMS = [
    {k: arm[k] for k in ("armcd", "label", "dose_mg")}
    for arm in config["study"]["arms"]
]


rule derive_adsl:
    input:
        **{
            d: res(f"validation/{d}.parquet")
            for d in ["dm", "ex", "ds", "vs", "lb", "pc", "qs"]
        },
        units=os.path.join(RESOURCES, "units.csv"),
    output:
        parquet=res("adam/adsl.parquet"),
        csv=res("adam/adsl.csv"),
    log:
        logf("derive/derive_adsl.log"),
    benchmark:
        bench("derive/derive_adsl.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        arms=DERIVE_ARMS,
        treatment=config["study"]["treatment"],
        pk_analyte=config["study"]["pk_analyte"],
        baseline_rule=config["baseline"]["rule"],
        same_day=config["baseline"]["same_day"],
        lab_censoring=config["censoring"]["lab"],
        placebo=config["study"].get("placebo", "PLACEBO"),
        qstestcd=config["edss"].get("qstestcd", "EDSS"),
    script:
        "../../scripts/derive_adsl.py"


rule derive_adex:
    input:
        dm=res("validation/dm.parquet"),
        ex=res("validation/ex.parquet"),
    output:
        parquet=res("adam/adex.parquet"),
        csv=res("adam/adex.csv"),
    log:
        logf("derive/derive_adex.log"),
    benchmark:
        bench("derive/derive_adex.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        arms=DERIVE_ARMS,
        treatment=config["study"]["treatment"],
        placebo=config["study"].get("placebo", "PLACEBO"),
    script:
        "../../scripts/derive_adex.py"


rule derive_adlb:
    input:
        adsl=res("adam/adsl.parquet"),
        lb=res("validation/lb.parquet"),
        units=os.path.join(RESOURCES, "units.csv"),
        reference_ranges=os.path.join(RESOURCES, "reference_ranges.csv"),
        ctcae=os.path.join(RESOURCES, "ctcae.csv"),
    output:
        parquet=res("adam/adlb.parquet"),
        csv=res("adam/adlb.csv"),
    log:
        logf("derive/derive_adlb.log"),
    benchmark:
        bench("derive/derive_adlb.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        visits=config["visits"],
        baseline_rule=config["baseline"]["rule"],
        same_day=config["baseline"]["same_day"],
        lab_censoring=config["censoring"]["lab"],
        titre_censoring=config["censoring"]["titre"],
    script:
        "../../scripts/derive_adlb.py"


rule derive_adpc:
    input:
        adsl=res("adam/adsl.parquet"),
        adex=res("adam/adex.parquet"),
        pc=res("validation/pc.parquet"),
        units=os.path.join(RESOURCES, "units.csv"),
    output:
        parquet=res("adam/adpc.parquet"),
        csv=res("adam/adpc.csv"),
    log:
        logf("derive/derive_adpc.log"),
    benchmark:
        bench("derive/derive_adpc.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        visits=config["visits"],
        dosing_days=config["study"]["dosing_days"],
        pk_before_first_measurable=config["censoring"]["pk_before_first_measurable"],
        pk_after_first_measurable=config["censoring"]["pk_after_first_measurable"],
        treatment=config["study"]["treatment"],
        pk_analyte=config["study"]["pk_analyte"],
    script:
        "../../scripts/derive_adpc.py"


rule derive_adedss:
    input:
        adsl=res("adam/adsl.parquet"),
        qs=res("validation/qs.parquet"),
    output:
        parquet=res("adam/adedss.parquet"),
        csv=res("adam/adedss.csv"),
    log:
        logf("derive/derive_adedss.log"),
    benchmark:
        bench("derive/derive_adedss.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        visits=config["visits"],
        improvement=config["edss"]["improvement"],
        baseline_rule=config["baseline"]["rule"],
        same_day=config["baseline"]["same_day"],
        qstestcd=config["edss"].get("qstestcd", "EDSS"),
    script:
        "../../scripts/derive_adedss.py"


rule derive_adae:
    input:
        adsl=res("adam/adsl.parquet"),
        ae=res("validation/ae.parquet"),
    output:
        parquet=res("adam/adae.parquet"),
        csv=res("adam/adae.csv"),
    log:
        logf("derive/derive_adae.log"),
    benchmark:
        bench("derive/derive_adae.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("derive", "units", "frames"),
        related_terms=config["ae"]["related_terms"],
        teae_window_days=config["ae"]["teae_window_days"],
    script:
        "../../scripts/derive_adae.py"


TARGETS["derive"] = [
    res(f"adam/{name}.{ext}") for name in ADAM for ext in ("parquet", "csv")
]
