# Stage rules: provenance (manifest, data-change report, provenance page) and the run ledger.
# The ledger (results/provenance/runs.jsonl) is appended by the onsuccess/onerror handlers
# below, not by a job: it records every run, including the failed ones.
import datetime as _dt


rule provenance:
    input:
        outputs=all_stage_outputs,
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
        raw_dir=lambda wildcards, input: first_dir(input.raw),
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
