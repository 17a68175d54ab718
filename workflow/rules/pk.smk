# Stage rules: pk (see docs/architecture.md for the conventions).
#
# nca: non-compartmental analysis per subject and dosing interval (config nca.intervals) from
# the analysis datasets, its summary by arm and the power-model dose proportionality.


rule nca:
    input:
        adpc=res("adam/adpc.parquet"),
        adex=res("adam/adex.parquet"),
        adsl=res("adam/adsl.parquet"),
    output:
        nca=res("pk/nca.csv"),
        summary=report(
            res("pk/nca_summary.csv"),
            caption="../report/nca_summary.rst",
            category="PK",
            subcategory="NCA",
        ),
        dose_proportionality=res("pk/dose_proportionality.csv"),
    log:
        logf("pk/nca.log"),
    benchmark:
        bench("pk/nca.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("nca", "frames"),
        intervals=config["nca"]["intervals"],
        auc_method=config["nca"]["auc_method"],
        lambda_z=config["nca"]["lambda_z"],
        blq=config["nca"]["blq"],
        acceptance=config["nca"].get("acceptance", {}),
        treatment=config["study"]["treatment"],
        analyte=config["study"]["pk_analyte"],
    script:
        "../../scripts/nca.py"


TARGETS["pk"] = [
    res("pk/nca.csv"),
    res("pk/nca_summary.csv"),
    res("pk/dose_proportionality.csv"),
]
