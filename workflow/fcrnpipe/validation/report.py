"""The validation report: one self-contained HTML page (inline CSS, no scripts, no timestamps).

It opens with the verdict and a summary table covering every check that found something:
file x check x severity, the count and the first examples. Then a summary per file (rows used,
rows set aside, errors, warnings, notices), the details -- at most :data:`MAX_PER_CHECK` rows
per file and check, with how many more ``failures.csv`` holds -- and the rules with their
severity. The page stays small and readable whatever the number of findings (400,000 findings
give a few hundred rows of HTML). The same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from fcrnpipe.validation.failures import FAILURE_COLUMNS, SEVERITIES, normalise_failures
from fcrnpipe.validation.rules import SEVERITY

#: At most this many findings of one file and check are listed in the HTML (failures.csv has all).
MAX_PER_CHECK = 50
#: Examples shown per line of the summary table.
EXAMPLES = 3
_SET_ASIDE_COUNT = r"^(?P<n>[\d,]+) record"


@dataclass(frozen=True)
class FileSummary:
    """One line of the per-file summary (``rows`` = records validated, ``set_aside`` = records left out)."""

    domain: str
    file: str
    rows: int | None
    columns: int | None
    errors: int
    warnings: int = 0
    notices: int = 0
    set_aside: int = 0

    @property
    def failures(self) -> int:
        """Findings that block the domain (errors)."""
        return self.errors

    @property
    def status(self) -> str:
        if self.errors:
            return "FAIL"
        return "WARN" if self.warnings else "PASS"


def set_aside_count(failures: pd.DataFrame) -> int:
    """Records set aside, summed from the ``set_aside`` notices (their message starts with the count)."""
    notes = failures.loc[failures["check"] == "set_aside", "message"]
    if notes.empty:
        return 0
    n = notes.str.extract(_SET_ASIDE_COUNT)["n"].str.replace(",", "", regex=False)
    return int(pd.to_numeric(n, errors="coerce").fillna(0).sum())


def summarise(domain: str, file: str, typed: pd.DataFrame | None, failures: pd.DataFrame) -> FileSummary:
    """The summary line of one domain; rows/columns are ``None`` when the file could not be read."""
    failures = normalise_failures(failures)
    unreadable = typed is None or (typed.shape[1] == 0 and len(failures) > 0)
    sev = failures["severity"].value_counts()
    return FileSummary(
        domain=domain,
        file=file,
        rows=None if unreadable else int(typed.shape[0]),
        columns=None if unreadable else int(typed.shape[1]),
        errors=int(sev.get("error", 0)),
        warnings=int(sev.get("warning", 0)),
        notices=int(sev.get("notice", 0)),
        set_aside=set_aside_count(failures),
    )


def _example(r: Mapping[str, object]) -> str:
    row, value = r["row"], str(r["value"])
    shown = value if len(value) <= 40 else value[:37] + "..."
    if row is None or pd.isna(row):
        return repr(shown) if shown else str(r["column"] or "file")
    return f"row {int(row)}: {shown!r}" if shown else f"row {int(row)}: empty"


def overview(failures: pd.DataFrame, examples: int = EXAMPLES) -> list[dict[str, object]]:
    """One entry per (file, check, severity): count and the first examples, errors first."""
    if failures.empty:
        return []
    order = {s: i for i, s in enumerate(SEVERITIES)}
    f = failures.assign(_sev=failures["severity"].map(order).fillna(len(order)))
    out = []
    for (sev_rank, file, check, severity), g in f.groupby(["_sev", "file", "check", "severity"], sort=True):
        head = g.head(examples)
        out.append(
            {
                "file": file,
                "check": check,
                "severity": severity,
                "n": int(len(g)),
                "examples": "; ".join(_example(r) for r in head.to_dict("records")),
                "anchor": f"{file}-{check}",
            }
        )
    return out


def details(failures: pd.DataFrame, max_per_check: int = MAX_PER_CHECK) -> list[dict[str, object]]:
    """Per (file, check) in overview order: the first ``max_per_check`` rows and how many more."""
    if failures.empty:
        return []
    order = {s: i for i, s in enumerate(SEVERITIES)}
    f = failures.assign(_sev=failures["severity"].map(order).fillna(len(order)))
    out = []
    for (_, file, check, severity), g in f.groupby(["_sev", "file", "check", "severity"], sort=True):
        shown = g.head(max_per_check)[FAILURE_COLUMNS]
        shown = shown.astype(object).where(shown.notna(), "")
        out.append(
            {
                "file": file,
                "check": check,
                "severity": severity,
                "anchor": f"{file}-{check}",
                "rows": shown.to_dict("records"),
                "more": int(len(g) - len(shown)),
            }
        )
    return out


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Validation report{% if data_cut %} - {{ data_cut }}{% endif %}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.0em; margin-top: 1.2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; }
.PASS { color: #1a7f37; font-weight: bold; } .FAIL, .error { color: #c62828; font-weight: bold; }
.WARN, .warning { color: #b26a00; font-weight: bold; } .notice { color: #555; }
.verdict { font-size: 1.1em; padding: 0.5em 0.8em; display: inline-block; border: 2px solid; }
code { font-family: Menlo, Consolas, monospace; }
</style>
</head>
<body>
<h1>Validation report</h1>
{% if data_cut %}<p>Data cut: {{ data_cut }}</p>{% endif %}
<p class="verdict {{ verdict }}">{% if verdict == "FAIL" -%}
FAIL: {{ n_errors }} error(s) in {{ n_failed }} of {{ files|length }} export(s); the analysis of
{{ "that domain" if n_failed == 1 else "those domains" }} does not start until they are fixed.
{%- elif verdict == "WARN" -%}
PASS with {{ n_warnings }} warning(s): the exports meet the raw-data contract; the warnings are worth a look.
{%- else -%}
PASS: all {{ files|length }} exports meet the raw-data contract.
{%- endif %}
{% if n_notices %} {{ n_notices }} notice(s).{% endif %}</p>
<p>Severity: <span class="error">error</span> blocks the domain's analysis;
<span class="warning">warning</span> is reported and the run goes on;
<span class="notice">notice</span> informs (e.g. records set aside because the analysis does not use them).
All findings: <a href="failures.csv"><code>failures.csv</code></a> (file, row, column, check, severity, value, message).</p>

<h2>Summary of findings</h2>
{% if summary %}
<table>
<tr><th>file</th><th>check</th><th>severity</th><th>count</th><th>first examples</th></tr>
{% for r in summary -%}
<tr><td><code>{{ r.file }}</code></td><td><a href="#{{ r.anchor }}"><code>{{ r.check }}</code></a></td>
<td class="{{ r.severity }}">{{ r.severity }}</td><td class="num">{{ r.n }}</td><td>{{ r.examples }}</td></tr>
{% endfor -%}
</table>
{% else %}
<p>No findings.</p>
{% endif %}

<h2>Summary per file</h2>
<table>
<tr><th>domain</th><th>file</th><th>rows validated</th><th>rows set aside</th><th>columns</th>
<th>errors</th><th>warnings</th><th>notices</th><th>status</th></tr>
{% for f in files -%}
<tr><td>{{ f.domain|upper }}</td><td><code>{{ f.file }}</code></td>
<td class="num">{{ "&ndash;"|safe if f.rows is none else f.rows }}</td>
<td class="num">{{ f.set_aside }}</td>
<td class="num">{{ "&ndash;"|safe if f.columns is none else f.columns }}</td>
<td class="num">{{ f.errors }}</td><td class="num">{{ f.warnings }}</td><td class="num">{{ f.notices }}</td>
<td class="{{ f.status }}">{{ f.status }}</td></tr>
{% endfor -%}
</table>

<h2>Details</h2>
{% if sections %}
{% for s in sections -%}
<h3 id="{{ s.anchor }}"><code>{{ s.file }}</code> &middot; <code>{{ s.check }}</code> &middot; <span class="{{ s.severity }}">{{ s.severity }}</span></h3>
<table>
<tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for f in s.rows -%}
<tr>{% for c in columns %}<td{% if c == "row" %} class="num"{% endif %}>{{ f[c] }}</td>{% endfor %}</tr>
{% endfor -%}
</table>
{% if s.more %}<p>{{ s.more }} more in <a href="failures.csv"><code>failures.csv</code></a>.</p>{% endif %}
{% endfor -%}
{% else %}
<p>None.</p>
{% endif %}

<h2>Rules checked</h2>
<table>
<tr><th>rule</th><th>severity</th><th>what is checked</th></tr>
{% for rule, severity, text in rules -%}
<tr><td><code>{{ rule }}</code></td><td class="{{ severity }}">{{ severity }}</td><td>{{ text }}</td></tr>
{% endfor -%}
</table>
<p>Contract: <code>docs/datasets.md</code>, section 1; units: <code>resources/units.csv</code>.</p>
</body>
</html>
"""


def render_report(
    files: Sequence[FileSummary],
    failures: pd.DataFrame,
    rules: Mapping[str, str],
    data_cut: str = "",
    max_per_check: int = MAX_PER_CHECK,
    severities: Mapping[str, str] | None = None,
) -> str:
    """The validation report as an HTML string (deterministic, self-contained)."""
    severities = severities or SEVERITY
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    failures = normalise_failures(failures)
    sev = failures["severity"].value_counts()
    n_errors = int(sev.get("error", 0))
    n_warnings = int(sev.get("warning", 0))
    verdict = "FAIL" if n_errors else ("WARN" if n_warnings else "PASS")
    return env.from_string(_TEMPLATE).render(
        data_cut=data_cut,
        verdict=verdict,
        files=list(files),
        n_errors=n_errors,
        n_warnings=n_warnings,
        n_notices=int(sev.get("notice", 0)),
        n_failed=sum(1 for f in files if f.errors),
        summary=overview(failures),
        sections=details(failures, max_per_check),
        columns=FAILURE_COLUMNS,
        rules=[(rule, severities.get(rule, "error"), text) for rule, text in sorted(rules.items())],
    )


def write_report(html: str, path: str | Path) -> None:
    """Write the report as UTF-8 with '\\n' line ends."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(html)
