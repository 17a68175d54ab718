"""The validation report: one self-contained HTML page (inline CSS, no scripts, no timestamps).

Sections: overall verdict, a summary per file (rows, columns, number of failures, pass/fail),
the number of failures per rule, the failures table and the list of rules checked. The same
inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd

from fcrnpipe.validation.failures import FAILURE_COLUMNS, normalise_failures

#: At most this many failures are listed in the HTML (failures.csv always has all of them).
MAX_LISTED = 2000


@dataclass(frozen=True)
class FileSummary:
    """One line of the per-file summary."""

    domain: str
    file: str
    rows: int | None
    columns: int | None
    failures: int

    @property
    def status(self) -> str:
        return "PASS" if self.failures == 0 else "FAIL"


def summarise(domain: str, file: str, typed: pd.DataFrame | None, failures: pd.DataFrame) -> FileSummary:
    """The summary line of one domain; rows/columns are ``None`` when the file could not be read."""
    unreadable = typed is None or (typed.shape[1] == 0 and len(failures) > 0)
    return FileSummary(
        domain=domain,
        file=file,
        rows=None if unreadable else int(typed.shape[0]),
        columns=None if unreadable else int(typed.shape[1]),
        failures=int(len(failures)),
    )


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Validation report{% if data_cut %} - {{ data_cut }}{% endif %}</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; }
.PASS { color: #1a7f37; font-weight: bold; } .FAIL { color: #c62828; font-weight: bold; }
.verdict { font-size: 1.1em; padding: 0.5em 0.8em; display: inline-block; border: 2px solid; }
code { font-family: Menlo, Consolas, monospace; }
</style>
</head>
<body>
<h1>Validation report</h1>
{% if data_cut %}<p>Data cut: {{ data_cut }}</p>{% endif %}
<p class="verdict {{ verdict }}">{% if verdict == "PASS" -%}
PASS: all {{ files|length }} exports meet the raw-data contract.
{%- else -%}
FAIL: {{ n_failures }} problem(s) in {{ n_failed }} of {{ files|length }} export(s).
The analysis does not start until they are fixed.
{%- endif %}</p>

<h2>Summary per file</h2>
<table>
<tr><th>domain</th><th>file</th><th>rows</th><th>columns</th><th>failures</th><th>status</th></tr>
{% for f in files -%}
<tr><td>{{ f.domain|upper }}</td><td><code>{{ f.file }}</code></td>
<td class="num">{{ "&ndash;"|safe if f.rows is none else f.rows }}</td>
<td class="num">{{ "&ndash;"|safe if f.columns is none else f.columns }}</td>
<td class="num">{{ f.failures }}</td><td class="{{ f.status }}">{{ f.status }}</td></tr>
{% endfor -%}
</table>

{% if by_check %}
<h2>Failures per rule</h2>
<table>
<tr><th>file</th><th>rule</th><th>failures</th></tr>
{% for r in by_check -%}
<tr><td><code>{{ r.file }}</code></td><td><code>{{ r.check }}</code></td><td class="num">{{ r.n }}</td></tr>
{% endfor -%}
</table>
{% endif %}

<h2>Failures</h2>
{% if failures %}
{% if n_failures > failures|length %}<p>The first {{ failures|length }} of {{ n_failures }} failures are listed;
<code>failures.csv</code> has all of them.</p>{% endif %}
<table>
<tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for f in failures -%}
<tr>{% for c in columns %}<td{% if c == "row" %} class="num"{% endif %}>{{ f[c] }}</td>{% endfor %}</tr>
{% endfor -%}
</table>
{% else %}
<p>None.</p>
{% endif %}

<h2>Rules checked</h2>
<table>
<tr><th>rule</th><th>what is checked</th></tr>
{% for rule, text in rules -%}
<tr><td><code>{{ rule }}</code></td><td>{{ text }}</td></tr>
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
    max_listed: int = MAX_LISTED,
) -> str:
    """The validation report as an HTML string (deterministic, self-contained)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    failures = normalise_failures(failures)
    listed = failures.head(max_listed).astype(object).where(failures.head(max_listed).notna(), "")
    by_check = (
        failures.groupby(["file", "check"], sort=True).size().reset_index(name="n").to_dict("records")
        if len(failures)
        else []
    )
    return env.from_string(_TEMPLATE).render(
        data_cut=data_cut,
        verdict="PASS" if len(failures) == 0 else "FAIL",
        files=list(files),
        n_failures=int(len(failures)),
        n_failed=sum(1 for f in files if f.failures),
        by_check=by_check,
        columns=FAILURE_COLUMNS,
        failures=listed.to_dict("records"),
        rules=sorted(rules.items()),
    )


def write_report(html: str, path: str | Path) -> None:
    """Write the report as UTF-8 with '\\n' line ends."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(html)
