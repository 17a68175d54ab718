"""Rendering tables as self-contained HTML (jinja2) and writing the CSV + HTML outputs."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from fcrnpipe.tableio import write_csv
from fcrnpipe.tables.core import Table

TEMPLATE_DIR = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_html(table: Table, template: str = "table.html.j2") -> str:
    """The table as one self-contained HTML page (inline CSS, no scripts, no external assets,
    no timestamps): title, population, column headers with N, rows, footnotes, data cut.
    All text is HTML-escaped."""
    show_stat = any(r.stat for r in table.rows)
    ncols = 1 + int(show_stat) + len(table.columns)
    return _environment().get_template(template).render(table=table, show_stat=show_stat, ncols=ncols)


def write_outputs(table: Table, csv_path: str | Path, html_path: str | Path) -> None:
    """Write ``table.data`` as CSV (unrounded) and the rendered HTML (UTF-8, ``\\n`` line ends)."""
    write_csv(table.data, csv_path)
    path = Path(html_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(render_html(table))
