# Stage rules: provenance (manifest, data-change report, provenance page); the run ledger is appended
# by the onsuccess/onerror handlers below, not by a job, so it records the failed runs too.
import datetime as _dt


rule provenance:
    input:
        # every stage's targets but this rule's own
        outputs=lambda wc: sorted({p for stage, paths in TARGETS.items() if stage != "provenance" for p in paths}),
        raw=[raw_file(d) for d in DOMAINS],
    output:
        manifest=res("provenance/manifest.csv"),
        changes=res("provenance/data_changes.csv"),
        html=reported("provenance/provenance.html", "provenance", "Provenance", "Run record"),
    log:
        logf("provenance/provenance.log"),
    benchmark:
        bench("provenance/provenance.tsv")
    conda:
        CONDA_ENV
    params:
        code=lib_code("provenance", "rawio", "keys"),
        ledger=res(f"provenance/{_prov.LEDGER_NAME}"),
        store=res(f"provenance/{_prov.INPUT_STORE}"),
        # folders from the job's own files (no hard-coded prefixes: works without a shared FS)
        raw_dir=lambda wildcards, input: os.path.dirname(input.raw[0]),
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.manifest)),
        domains=DOMAINS,
        data_cut=config["data_cut"],
        config=config,
    script:
        "../../scripts/provenance.py"


TARGETS["provenance"] = rules.provenance.output


onstart:
    RUN["start"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


onsuccess:
    record_run("success", log)


onerror:
    record_run("failure", log)
