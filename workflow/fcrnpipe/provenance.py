"""Provenance: the run ledger, the output manifest and the data-change report.

Three records let an auditor answer "what changed, why was it recomputed, and are the
results reproducible":

* ``runs.jsonl`` (the run ledger): one JSON record per run, appended by the Snakefile's
  ``onsuccess``/``onerror`` handlers: run id, UTC start/end, outcome, git commit and dirty
  flag, config and its hash, software versions, SHA-256 of every raw input, the jobs run
  with Snakemake's reason for each, and the SHA-256 of every output.
* ``manifest.csv``: for every current output, its SHA-256, the rule that made it and the
  hashes of that job's inputs (rule and inputs from Snakemake's own job metadata).
* ``data_changes.csv``: when a raw export differs from the one used by the previous
  successful run, the rows added, removed and changed (old and new value of every changed
  cell), keyed by the domain's record key (:mod:`fcrnpipe.keys`); plus the outputs whose content changed.

Raw exports of every successful run are kept in a content-addressed store
(``provenance/inputs/<sha256>.<ext>``) so the previous version is always available to diff.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from fcrnpipe.keys import record_keys

KEY_PACKAGES = ["snakemake", "snakemake-executor-plugin-slurm", "pandas", "numpy", "scipy",
                "pandera", "pyarrow", "matplotlib", "jinja2", "fcrnpipe"]

LEDGER_NAME = "runs.jsonl"
INPUT_STORE = "inputs"
DATA_CHANGE_COLUMNS = ["domain", "file", "change", "key", "column", "old", "new"]
MANIFEST_COLUMNS = ["output", "sha256", "bytes", "rule", "inputs"]


# ----------------------------------------------------------------------------- hashing
def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variation (for hashing)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of the configuration."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


#: Config keys that only say where files are; the analysis does not depend on them.
LOCATION_KEYS = ("raw_dir", "results_dir", "logs_dir")


def analysis_config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the configuration without its folder locations (:data:`LOCATION_KEYS`).

    Two runs of the same analysis into different folders (a local and a cluster run, a
    rerun into a fresh folder) share it; the raw inputs are identified by content instead.
    """
    return config_hash({k: v for k, v in config.items() if k not in LOCATION_KEYS})


def hash_tree(folder: str | Path, exclude: Iterable[str] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` keyed by its POSIX path relative to it.

    ``exclude`` holds relative paths or folder prefixes (``provenance/runs.jsonl``,
    ``provenance/inputs/``) that are left out.
    """
    root = Path(folder)
    excl = tuple(exclude)
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(rel == e or (e.endswith("/") and rel.startswith(e)) for e in excl):
            continue
        out[rel] = sha256_file(path)
    return out


# ----------------------------------------------------------------------------- run context
def git_state(repo: str | Path) -> dict[str, Any]:
    """Commit and dirty flag of the git checkout at ``repo`` (None when not a checkout)."""
    def _git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return res.stdout.strip() if res.returncode == 0 else None

    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def software_versions(packages: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Python and package versions as installed in the running environment."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# ----------------------------------------------------------------------------- Snakemake log
@dataclass
class JobRecord:
    """One job as Snakemake's log describes it."""

    jobid: int
    rule: str
    reason: str = ""
    output: list[str] = field(default_factory=list)
    wildcards: str = ""
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"jobid": self.jobid, "rule": self.rule, "reason": self.reason, "output": self.output,
                "wildcards": self.wildcards, "finished": self.finished}


_RULE_RE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\S+?):\s*$")
_FIELD_RE = re.compile(r"^\s{4}(\w+): (.*)$")
_FINISHED_RE = re.compile(r"^Finished jobid: (\d+)")


def parse_snakemake_log(text: str) -> list[JobRecord]:
    """Jobs listed in a Snakemake log with their reason, outputs and completion state.

    The main log prints, for each scheduled job, a ``rule NAME:`` (or ``localrule``) block
    with indented ``input:``, ``output:``, ``jobid:``, ``reason:`` and ``wildcards:`` lines,
    and ``Finished jobid: N`` when it completes.
    """
    jobs: dict[int, JobRecord] = {}
    current: dict[str, str] | None = None
    rule: str | None = None

    def flush() -> None:
        if rule is not None and current is not None and "jobid" in current:
            jid = int(current["jobid"])
            rec = jobs.get(jid) or JobRecord(jobid=jid, rule=rule)
            rec.rule = rule
            rec.reason = current.get("reason", rec.reason)
            rec.output = [o.strip() for o in current.get("output", "").split(",") if o.strip()] or rec.output
            rec.wildcards = current.get("wildcards", rec.wildcards)
            jobs[jid] = rec

    for line in text.splitlines():
        m = _RULE_RE.match(line)
        if m:
            flush()
            rule, current = m.group(1), {}
            continue
        if current is not None:
            f = _FIELD_RE.match(line)
            if f:
                current[f.group(1)] = f.group(2)
                continue
            if line.strip() == "" or not line.startswith(" "):
                flush()
                rule, current = None, None
        fm = _FINISHED_RE.match(line)
        if fm:
            jid = int(fm.group(1))
            if jid in jobs:
                jobs[jid].finished = True
    flush()
    return [jobs[k] for k in sorted(jobs)]


# ----------------------------------------------------------------------------- ledger
def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """All records of a run ledger (empty when it does not exist)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def last_successful_run(ledger: list[dict[str, Any]]) -> dict[str, Any] | None:
    for rec in reversed(ledger):
        if rec.get("outcome") == "success":
            return rec
    return None


def append_ledger(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record (one line of JSON) to the ledger."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")


def raw_inputs(raw_dir: str | Path, domains: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each domain export present in the data cut, keyed by file name."""
    out: dict[str, str] = {}
    for dom in domains:
        for ext in ("csv", "xpt"):
            p = Path(raw_dir) / f"{dom}.{ext}"
            if p.exists():
                out[p.name] = sha256_file(p)
                break
    return out


#: Columns read from the exports but never written anywhere, the input archive included
#: (the same as fcrnpipe.validation.schemas.DROPPED_COLUMNS; not imported: this module stays light).
NEVER_WRITTEN = ("BRTHDTC",)


def _never_written(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if str(c).strip().upper() in NEVER_WRITTEN]


def archive_inputs(raw_dir: str | Path, domains: Iterable[str], store: str | Path) -> dict[str, str]:
    """Copy each export into the content-addressed store (``<sha256>.<ext>``); return name->sha.

    An export with a column that is never written (BRTHDTC) is archived without it, as CSV
    (``<sha256 of the export>.csv``); other exports are copied byte for byte.
    """
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    hashes = raw_inputs(raw_dir, domains)
    for name, digest in hashes.items():
        source = Path(raw_dir) / name
        copy = store / f"{digest}{source.suffix}"
        redacted = store / f"{digest}.csv"
        if copy.exists() or redacted.exists():
            continue
        if source.suffix.lower() == ".csv":
            with open(source, encoding="utf-8-sig", errors="replace") as fh:
                header = next(csv.reader([fh.readline()]), [])
            if not _never_written(header):
                copy.write_bytes(source.read_bytes())
                continue
        table = _read_text_table(source)
        drop = _never_written(table.columns)
        if drop:
            table.drop(columns=drop).to_csv(redacted, index=False, lineterminator="\n", encoding="utf-8")
        else:
            copy.write_bytes(source.read_bytes())
    return hashes


def archived_export(store: str | Path, digest: str, suffix: str) -> Path | None:
    """The archived version of an export (the copy, or the redacted CSV), ``None`` if not archived."""
    for path in (Path(store) / f"{digest}{suffix}", Path(store) / f"{digest}.csv"):
        if path.exists():
            return path
    return None


def build_run_record(
    *,
    run_id: str,
    started: str | None,
    outcome: str,
    config: Mapping[str, Any],
    repo: str | Path,
    raw_dir: str | Path,
    domains: Iterable[str],
    results_dir: str | Path,
    snakemake_log: str | Path | None,
) -> dict[str, Any]:
    """Assemble one ledger record for the run that just ended."""
    jobs: list[dict[str, Any]] = []
    if snakemake_log and Path(snakemake_log).exists():
        jobs = [j.as_dict() for j in parse_snakemake_log(Path(snakemake_log).read_text(encoding="utf-8"))]
    return {
        "run_id": run_id,
        "start_utc": started,
        "end_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "outcome": outcome,
        "git": git_state(repo),
        "config_sha256": config_hash(config),
        "analysis_config_sha256": analysis_config_hash(config),
        "config": dict(config),
        "software": software_versions(),
        "command": " ".join(sys.argv),
        "raw_inputs": raw_inputs(raw_dir, domains),
        "jobs": jobs,
        "outputs": hash_tree(results_dir, exclude=ledger_excludes()),
    }


def ledger_excludes() -> list[str]:
    """Paths under results/ that are run records rather than outputs."""
    return [f"provenance/{LEDGER_NAME}", f"provenance/{INPUT_STORE}/"]


# ----------------------------------------------------------------------------- manifest
def metadata_path(metadata_dir: str | Path, path: str) -> Path:
    """Where Snakemake keeps the job metadata of output ``path``.

    Mirrors Snakemake's file persistence: the URL-safe base64 of the path, split into
    chunks of NAME_MAX-1 characters, every chunk but the last prefixed with '@'.
    """
    mdir = Path(metadata_dir)
    try:
        max_len = os.pathconf(mdir, "PC_NAME_MAX") if mdir.exists() else 255
    except (OSError, ValueError):
        max_len = 255
    b64 = base64.urlsafe_b64encode(path.encode()).decode()
    parts = [b64[i : i + max_len - 1] for i in range(0, len(b64), max_len - 1)]
    parts = ["@" + s for s in parts[:-1]] + [parts[-1]]
    return mdir.joinpath(*parts)


def _metadata_record(metadata_dir: Path, path: str) -> dict[str, Any] | None:
    """Snakemake's job metadata for an output path (None when not recorded)."""
    cand = metadata_path(metadata_dir, path)
    if not cand.is_file():
        return None
    try:
        return json.loads(cand.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def relabel_path(path: str, roots: Mapping[str, str | Path]) -> str:
    """Write ``path`` relative to a labelled root (``results/…``, ``raw/…``), machine-independent."""
    p = Path(path).resolve()
    for label, root in roots.items():
        try:
            return f"{label}/{p.relative_to(Path(root).resolve()).as_posix()}"
        except ValueError:
            continue
    return Path(path).as_posix()


def build_manifest(
    outputs: Iterable[str],
    *,
    results_dir: str | Path,
    roots: Mapping[str, str | Path],
    metadata_dir: str | Path = ".snakemake/metadata",
) -> pd.DataFrame:
    """One row per output: SHA-256, size, the rule that made it, and its inputs' hashes.

    ``outputs`` are paths as Snakemake knows them; the rule and the input list come from
    Snakemake's job metadata, and every input is hashed here (so large inputs are covered
    too). Paths are written relative to labelled roots so two machines agree.
    """
    mdir = Path(metadata_dir)
    rows = []
    for out in sorted(set(outputs)):
        if not Path(out).exists():
            continue
        meta = _metadata_record(mdir, out) or {}
        inputs = []
        for inp in sorted(meta.get("input", [])):
            if Path(inp).is_file():
                inputs.append(f"{relabel_path(inp, roots)}={sha256_file(inp)}")
        rows.append({
            "output": relabel_path(out, roots),
            "sha256": sha256_file(out),
            "bytes": Path(out).stat().st_size,
            "rule": meta.get("rule", ""),
            "inputs": ";".join(inputs),
        })
    df = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    return df.sort_values("output", kind="mergesort").reset_index(drop=True)


# ----------------------------------------------------------------------------- data changes
def _key_columns(domain: str, old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """The first record key of ``domain`` (:func:`fcrnpipe.keys.record_keys`) unique in both cuts."""
    for key in record_keys(domain):
        keys = list(key)
        if all(k in old.columns and k in new.columns for k in keys):
            if not old.duplicated(keys).any() and not new.duplicated(keys).any():
                return keys
    return []


def diff_domain(domain: str, file: str, old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Rows added/removed/changed between two versions of one export (all values as text).

    Rows are matched on the domain's record key (:data:`fcrnpipe.keys.KEYS`: a key that stays
    the same when a record is corrected; a fallback key when it is not unique). A changed row
    gives one line per changed cell with its old and new value; added and removed columns are
    reported once each. Columns never written (BRTHDTC) are left
    out of the comparison. Without a usable key, rows are compared
    as whole records (added/removed only).
    """
    old = old.drop(columns=_never_written(old.columns)).astype("string").fillna("")
    new = new.drop(columns=_never_written(new.columns)).astype("string").fillna("")
    rows: list[dict[str, str]] = []
    for col in sorted(set(new.columns) - set(old.columns)):
        rows.append({"change": "column added", "key": "", "column": col, "old": "", "new": ""})
    for col in sorted(set(old.columns) - set(new.columns)):
        rows.append({"change": "column removed", "key": "", "column": col, "old": "", "new": ""})
    keys = _key_columns(domain, old, new)
    common = [c for c in new.columns if c in old.columns]
    if keys:
        o = old.set_index(keys)
        n = new.set_index(keys)

        def label(k: Any) -> str:
            k = k if isinstance(k, tuple) else (k,)
            return " ".join(f"{name}={val}" for name, val in zip(keys, k))

        for k in n.index.difference(o.index):
            rows.append({"change": "row added", "key": label(k), "column": "", "old": "", "new": ""})
        for k in o.index.difference(n.index):
            rows.append({"change": "row removed", "key": label(k), "column": "", "old": "", "new": ""})
        both = n.index.intersection(o.index)
        value_cols = [c for c in common if c not in keys]
        if len(both) and value_cols:
            ov = o.loc[both, value_cols]
            nv = n.loc[both, value_cols]
            diff_mask = ov.ne(nv)
            for k, row in diff_mask.iterrows():
                for col in [c for c in value_cols if row[c]]:
                    rows.append({"change": "cell changed", "key": label(k), "column": col,
                                 "old": str(ov.at[k, col]), "new": str(nv.at[k, col])})
    else:
        o_rec = set(map(tuple, old[common].itertuples(index=False)))
        n_rec = set(map(tuple, new[common].itertuples(index=False)))
        for rec in sorted(n_rec - o_rec):
            rows.append({"change": "row added", "key": "|".join(rec), "column": "", "old": "", "new": ""})
        for rec in sorted(o_rec - n_rec):
            rows.append({"change": "row removed", "key": "|".join(rec), "column": "", "old": "", "new": ""})
    out = pd.DataFrame(rows, columns=["change", "key", "column", "old", "new"])
    out.insert(0, "file", file)
    out.insert(0, "domain", domain)
    return out.sort_values(["change", "key", "column"], kind="mergesort").reset_index(drop=True)


def changed_outputs(previous: Mapping[str, str], current: Mapping[str, str]) -> pd.DataFrame:
    """Outputs whose content differs from the previous successful run (added/removed/changed)."""
    rows = []
    for name in sorted(set(previous) | set(current)):
        before, after = previous.get(name), current.get(name)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        rows.append({"domain": "", "file": name, "change": f"output {change}", "key": "", "column": "",
                     "old": before or "", "new": after or ""})
    return pd.DataFrame(rows, columns=DATA_CHANGE_COLUMNS)


def _read_text_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() == ".xpt":
        from fcrnpipe.rawio import read_export  # local import: optional dependency chain

        return read_export(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def data_change_report(
    *,
    previous: Mapping[str, Any] | None,
    raw_dir: str | Path,
    domains: Iterable[str],
    store: str | Path,
    current_outputs: Mapping[str, str],
) -> pd.DataFrame:
    """The data-change table since the previous successful run (empty when nothing changed).

    ``previous`` is that run's ledger record (None for the first run); its raw-input hashes
    locate the old exports in the content-addressed ``store``.
    """
    if previous is None:
        return pd.DataFrame(columns=DATA_CHANGE_COLUMNS)
    prev_inputs: Mapping[str, str] = previous.get("raw_inputs", {})
    now_inputs = raw_inputs(raw_dir, domains)
    parts = []
    for dom in domains:
        names = [n for n in set(prev_inputs) | set(now_inputs) if Path(n).stem == dom]
        for name in sorted(names):
            before, after = prev_inputs.get(name), now_inputs.get(name)
            if before == after:
                continue
            if before is None or after is None:
                parts.append(pd.DataFrame([{"domain": dom, "file": name,
                                            "change": "file added" if before is None else "file removed",
                                            "key": "", "column": "", "old": before or "", "new": after or ""}]))
                continue
            old_path = archived_export(store, before, Path(name).suffix)
            if old_path is None:
                parts.append(pd.DataFrame([{"domain": dom, "file": name, "change": "file changed (previous version not archived)",
                                            "key": "", "column": "", "old": before, "new": after}]))
                continue
            parts.append(diff_domain(dom, name, _read_text_table(old_path), _read_text_table(Path(raw_dir) / name)))
    if not parts:
        return pd.DataFrame(columns=DATA_CHANGE_COLUMNS)
    # the provenance stage's own files are written after this comparison: left out on both sides
    own = "provenance/"
    prev_outputs = {k: v for k, v in previous.get("outputs", {}).items() if not k.startswith(own)}
    now_outputs = {k: v for k, v in current_outputs.items() if not k.startswith(own)}
    parts.append(changed_outputs(prev_outputs, now_outputs))
    return pd.concat(parts, ignore_index=True)[DATA_CHANGE_COLUMNS]


# ----------------------------------------------------------------------------- HTML
_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Provenance</title>
<style>
body{font-family:DejaVu Sans,Arial,sans-serif;font-size:13px;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}td.h{font-family:monospace;font-size:11px}h2{margin-top:1.2em}
</style></head><body>
<h1>Provenance — {{ data_cut }}</h1>
<p>Code: git commit <code>{{ git.commit or "unknown" }}</code>{% if git.dirty %} (working tree has uncommitted changes){% endif %}.
Analysis configuration SHA-256 <code>{{ config_sha }}</code> (folder locations excluded; the full configuration is in the ledger).
Previous successful runs recorded in the ledger (<code>provenance/runs.jsonl</code>): {{ n_previous }}{% if last_run %}, the last one <code>{{ last_run }}</code>{% endif %}.</p>
<h2>Raw inputs</h2>
<table><tr><th>file</th><th>SHA-256</th></tr>
{% for name, digest in raw_inputs.items() %}<tr><td>{{ name }}</td><td class="h">{{ digest }}</td></tr>
{% endfor %}</table>
<h2>Data changes since the previous successful run</h2>
{% if changes.empty %}<p>{{ no_change_text }}</p>{% else %}
<p>{{ change_summary }}</p>
<table><tr>{% for c in changes.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in changes.itertuples(index=False) %}<tr>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</table>{% endif %}
<h2>Software</h2>
<table><tr><th>package</th><th>version</th></tr>
{% for name, ver in software.items() %}<tr><td>{{ name }}</td><td>{{ ver }}</td></tr>
{% endfor %}</table>
<h2>Manifest of outputs ({{ manifest|length }} files)</h2>
<table><tr><th>output</th><th>rule</th><th>SHA-256</th><th>bytes</th></tr>
{% for row in manifest.itertuples(index=False) %}<tr><td>{{ row.output }}</td><td>{{ row.rule }}</td><td class="h">{{ row.sha256 }}</td><td>{{ row.bytes }}</td></tr>
{% endfor %}</table>
</body></html>
"""


def render_provenance_html(
    *,
    data_cut: str,
    git: Mapping[str, Any],
    config_sha: str,
    raw_inputs_: Mapping[str, str],
    software: Mapping[str, Any],
    manifest: pd.DataFrame,
    changes: pd.DataFrame,
    previous: list[dict[str, Any]],
) -> str:
    """Self-contained HTML page of the provenance section of the report (no timestamps)."""
    from jinja2 import Environment

    last = last_successful_run(previous)
    if changes.empty:
        no_change = ("No previous successful run: this is the first analysis of this results folder."
                     if last is None else "No raw export changed since the previous successful run.")
    else:
        no_change = ""
    counts = changes["change"].value_counts().sort_index() if not changes.empty else pd.Series(dtype=int)
    summary = "; ".join(f"{k}: {v}" for k, v in counts.items())
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(_HTML).render(
        data_cut=data_cut, git=git, config_sha=config_sha, raw_inputs=dict(raw_inputs_),
        software=dict(software), manifest=manifest, changes=changes,
        n_previous=sum(1 for r in previous if r.get("outcome") == "success"),
        last_run=None if last is None else f"{last.get('run_id')} ({last.get('end_utc')})",
        no_change_text=no_change, change_summary=summary,
    )


def record_run(
    outcome: str,
    log: Any,
    config: Mapping[str, Any],
    started: str | None,
    results_dir: str | Path,
    raw_dir: str | Path,
    domains: Iterable[str],
    repo: str | Path,
) -> dict[str, Any]:
    """Append this run's record to the ledger; on success archive the raw exports.

    Called from the Snakefile's ``onsuccess``/``onerror`` handlers with Snakemake's log file
    (a path or a list of paths).
    """
    logs = [log] if isinstance(log, (str, Path)) else list(log or [])
    log_path = Path(logs[0]) if logs else None
    run_id = log_path.name.replace(".snakemake.log", "") if log_path else datetime.now(timezone.utc).strftime(
        "%Y-%m-%dT%H%M%S")
    domains = list(domains)
    record = build_run_record(
        run_id=run_id, started=started, outcome=outcome, config=config, repo=repo, raw_dir=raw_dir,
        domains=domains, results_dir=results_dir, snakemake_log=log_path,
    )
    prov_dir = Path(results_dir) / "provenance"
    if outcome == "success":
        archive_inputs(raw_dir, domains, prov_dir / INPUT_STORE)
    append_ledger(prov_dir / LEDGER_NAME, record)
    return record
