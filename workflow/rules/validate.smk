# Stage rules: validate (docs/architecture.md, the stages): check_domain per domain -> validation_report
# -> validated (the gate per domain: results/validation/<domain>.parquet, the only file derive reads).
from fcrnpipe.validation import UNIT_DOMAINS, export_name, study_params

VALIDATION_CODE = lib_code("validation", "rawio", "units", "keys", "resource_tables")


rule check_domain:
    input:
        raw=lambda w: raw_file(w.domain),
        # cross checks: DM for every other domain, EX for the IgG baseline of LB
        dm=lambda w: [] if w.domain == "dm" else raw_file("dm"),
        ex=lambda w: raw_file("ex") if w.domain == "lb" else [],
        # the unit table, only for the domains whose checks use it
        units=lambda w: (resource("units.csv") if w.domain in UNIT_DOMAINS else []),
    output:
        typed=res("validation/checks/{domain}.parquet"),
        failures=res("validation/checks/{domain}.failures.csv"),
    log:
        logf("validation/check_{domain}.log"),
    benchmark:
        bench("validation/check_{domain}.tsv")
    wildcard_constraints:
        domain="|".join(DOMAINS),
    priority: 100
    conda:
        CONDA_ENV
    params:
        code=VALIDATION_CODE,
        expected=lambda w: os.path.join(RAW, f"{w.domain}.csv"),
        # only the config values this domain's checks use (see study_params)
        study=lambda w: study_params(config, w.domain),
    script:
        "../../scripts/validate_domain.py"


rule validation_report:
    input:
        typed=expand(res("validation/checks/{domain}.parquet"), domain=DOMAINS),
        failures=expand(res("validation/checks/{domain}.failures.csv"), domain=DOMAINS),
    output:
        failures=res("validation/failures.csv"),
        html=reported("validation/report.html", "validation", "Data quality", "Validation report"),
    log:
        logf("validation/validation_report.log"),
    benchmark:
        bench("validation/validation_report.tsv")
    priority: 90
    conda:
        CONDA_ENV
    params:
        code=VALIDATION_CODE,
        domains=DOMAINS,
        files={d: export_name(d, raw_file(d) or None) for d in DOMAINS},
        data_cut=config["data_cut"],
    script:
        "../../scripts/validation_report.py"


rule validated:
    input:
        typed=res("validation/checks/{domain}.parquet"),
        failures=res("validation/checks/{domain}.failures.csv"),
        # order only: the gate runs after the report is written (any --cores, any executor);
        # ancient() keeps a report rewritten for another domain from rerunning this gate
        report=ancient(res("validation/report.html")),
    output:
        parquet=res("validation/{domain}.parquet"),
    log:
        logf("validation/validated_{domain}.log"),
    benchmark:
        bench("validation/validated_{domain}.tsv")
    wildcard_constraints:
        domain="|".join(DOMAINS),
    priority: 80
    retries: 0
    conda:
        CONDA_ENV
    resources:
        runtime=5,
    params:
        code=VALIDATION_CODE,
        failures=lambda wildcards, input: os.path.join(os.path.dirname(input.report), "failures.csv"),
    script:
        "../../scripts/validation_gate.py"


TARGETS["validate"] = [
    *expand(res("validation/{domain}.parquet"), domain=DOMAINS),
    res("validation/failures.csv"),
    res("validation/report.html"),
]
