"""Rule provenance: manifest of outputs, data-change report and the provenance page."""

from pathlib import Path

from fcrnpipe import provenance as prov
from fcrnpipe.runner import run
from fcrnpipe.tableio import write_csv


def main(smk):
    p = smk.params
    ledger = prov.read_ledger(p.ledger)
    previous = prov.last_successful_run(ledger)
    roots = {"results": p.results_dir, "raw": p.raw_dir, "workflow": Path.cwd()}
    produced = [str(f) for f in smk.input.outputs]
    manifest = prov.build_manifest(produced, results_dir=p.results_dir, roots=roots)
    current = prov.hash_tree(p.results_dir, exclude=prov.ledger_excludes() + ["provenance/"])
    changes = prov.data_change_report(
        previous=previous, raw_dir=p.raw_dir, domains=p.domains, store=p.store, current_outputs=current
    )
    write_csv(manifest, smk.output.manifest)
    write_csv(changes, smk.output.changes)
    html = prov.render_provenance_html(
        data_cut=p.data_cut, git=prov.git_state(Path.cwd()), config_sha=prov.analysis_config_hash(p.config),
        raw_inputs_=prov.raw_inputs(p.raw_dir, p.domains), software=prov.software_versions(),
        manifest=manifest, changes=changes, previous=ledger,
    )
    Path(smk.output.html).write_text(html, encoding="utf-8")


run(main, snakemake)  # noqa: F821
