# Stage rules: pk (docs/architecture.md). nca: non-compartmental analysis per subject and dosing
# interval from the analysis datasets, its summary by arm and the dose proportionality.


rule nca:
    input:
        **adam("adpc", "adex", "adsl"),
    output:
        nca=res("pk/nca.csv"),
        summary=reported("pk/nca_summary.csv", "nca_summary", "PK", "NCA"),
        dose_proportionality=res("pk/dose_proportionality.csv"),
    log:
        logf("pk/nca.log"),
    benchmark:
        bench("pk/nca.tsv")
    conda:
        CONDA_ENV
    params:
        **_TRT,
        code=lib_code("nca", "frames"),
        nca=config["nca"],  # intervals, auc_method, lambda_z, blq, acceptance
        analyte=config["study"]["pk_analyte"],
    script:
        "../../scripts/nca.py"


TARGETS["pk"] = rules.nca.output
