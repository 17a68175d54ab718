"""House style of the pipeline's figures and their deterministic saving.

Everything a figure module (or a later PK/PD diagnostics module: GOF, VPC) needs to look like
the other figures and to be written byte-identically run after run:

- :data:`RC` / :func:`figure_style` / :func:`styled`: fixed rcParams (DejaVu Sans, shipped with
  matplotlib; sizes; no locale formatting; fixed SVG hash salt) applied on top of matplotlib's
  defaults, so a user's ``matplotlibrc`` cannot change the output;
- :class:`Arm`, :func:`arms_from_config`, :func:`overall_arm`: arm labels and colours from
  ``config.yaml: study.arms`` (+ ``overall_label``/``overall_color``);
- :func:`new_figure`, :func:`add_header_footer`, :func:`mark_dosing`, :func:`reference_line`:
  building blocks of the CSR layout (title, subtitle with population and N, footnote with the
  data cut);
- :func:`save`: PNG at 300 dpi and SVG, with no timestamps and no machine paths.

Figures are made with :class:`matplotlib.figure.Figure` directly (never pyplot), so no global
figure registry or GUI backend is involved.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib as mpl
import matplotlib.style
import matplotlib.transforms as mtransforms
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from fcrnpipe.errors import UserError

FONT = "DejaVu Sans"
PNG_DPI = 300
SVG_HASHSALT = "fcrnpipe"

#: rcParams of every figure, applied on top of matplotlib's defaults (see :func:`figure_style`).
RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "mathtext.fontset": "dejavusans",
    "font.size": 8.0,
    "axes.titlesize": 8.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.0,
    "legend.title_fontsize": 7.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.grid": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.5,
    "axes.formatter.use_locale": False,
    "axes.unicode_minus": True,
    "lines.linewidth": 1.0,
    "lines.markersize": 4.0,
    "errorbar.capsize": 2.5,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.dpi": PNG_DPI,
    "savefig.facecolor": "white",
    "savefig.bbox": None,
    "savefig.transparent": False,
    "svg.fonttype": "path",
    "svg.hashsalt": SVG_HASHSALT,
    "svg.id": None,
    "svg.image_inline": True,
    "pdf.fonttype": 42,
    "path.simplify": True,
    "image.composite_image": True,
}

#: Neutral colours shared by all figures.
GREY = "#7f7f7f"
LIGHT_GREY = "#d9d9d9"
TEXT_GREY = "#404040"
#: CTCAE grade colours (1 mild ... 5 death).
GRADE_COLORS: dict[int, str] = {
    1: "#a1d99b",
    2: "#fdae6b",
    3: "#e6550d",
    4: "#a50f15",
    5: "#000000",
}
#: Marker per subject when subjects are told apart by symbol (colour stays the arm colour).
SUBJECT_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "p", "*")

TITLE_SIZE = 10.0
SUBTITLE_SIZE = 8.0
FOOTNOTE_SIZE = 6.5

P = ParamSpec("P")
R = TypeVar("R")


def pin_bundled_font(family: str = FONT) -> None:
    """Make ``family`` resolve to matplotlib's own copy of the font, never a system one.

    Machines differ in their installed fonts: Debian's fonts-dejavu (pulled in by chromium, for
    instance) is another release of DejaVu Sans with other glyph numbers, and which copy
    matplotlib's font cache prefers depends on when that cache was built. The bundled copy is the
    same wherever the pinned matplotlib is installed, so figures are byte-identical everywhere.
    """
    bundled = Path(mpl.get_data_path(), "fonts", "ttf").resolve()
    fm = font_manager.fontManager
    entries = [f for f in fm.ttflist if f.name == family]
    if entries and all(Path(f.fname).resolve().parent == bundled for f in entries):
        return
    fm.ttflist = [f for f in fm.ttflist if f.name != family]
    for path in sorted(bundled.glob("*.ttf")):
        if font_manager.get_font(str(path)).family_name == family:
            fm.addfont(str(path))
    font_manager.FontManager._findfont_cached.cache_clear()


def figure_style() -> Any:
    """Context manager: matplotlib's default rcParams overlaid with :data:`RC`.

    Used both when a figure is built (fonts of texts are resolved then) and when it is saved
    (ticks are created lazily at draw time), so nothing from the user's rc files leaks in. The
    font is matplotlib's bundled DejaVu Sans (:func:`pin_bundled_font`).
    """
    pin_bundled_font()
    return matplotlib.style.context(["default", RC])


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run a figure-building function inside :func:`figure_style`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with figure_style():
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------------------- arms
@dataclass(frozen=True)
class Arm:
    """A treatment arm as configured in ``study.arms`` (or the overall group)."""

    armcd: str
    label: str
    color: str
    dose_mg: float | None = None


OVERALL = "OVERALL"


def arms_from_config(arms: Iterable[Mapping[str, Any] | Arm]) -> tuple[Arm, ...]:
    """Arms in configuration order from ``config["study"]["arms"]`` entries (or Arm objects)."""
    out: list[Arm] = []
    for arm in arms:
        if isinstance(arm, Arm):
            out.append(arm)
            continue
        try:
            out.append(Arm(str(arm["armcd"]), str(arm["label"]), str(arm["color"]), arm.get("dose_mg")))
        except KeyError as exc:
            raise UserError(f"config study.arms: every arm needs armcd, label and color (missing {exc})") from exc
    if not out:
        raise UserError("config study.arms: at least one arm is needed for the figures")
    codes = [a.armcd for a in out]
    if len(set(codes)) != len(codes):
        raise UserError(f"config study.arms: duplicated armcd in {codes}")
    return tuple(out)


def overall_arm(label: str = "Overall", color: str = "#444444") -> Arm:
    """The all-arms group (``study.overall_label``, ``study.overall_color``)."""
    return Arm(OVERALL, label, color)


def as_overall_arm(overall: Mapping[str, Any] | Arm | None) -> Arm:
    """The all-arms group from a figure's ``overall`` argument: an :class:`Arm` as is, a config
    mapping (``label``, ``color``; defaults as :func:`overall_arm`) or ``None`` (the defaults).

    >>> as_overall_arm({"label": "All"}).label, as_overall_arm(None).color
    ('All', '#444444')
    """
    if isinstance(overall, Arm):
        return overall
    if overall is None:
        return overall_arm()
    return overall_arm(label=str(overall.get("label", "Overall")), color=str(overall.get("color", "#444444")))


def arm_colors(arms: Iterable[Mapping[str, Any] | Arm]) -> dict[str, str]:
    """ARMCD -> colour, as configured."""
    return {a.armcd: a.color for a in arms_from_config(arms)}


# ------------------------------------------------------------------------------------- layout
def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure of a fixed size in inches with constrained layout (call inside the style)."""
    return Figure(figsize=(width_in, height_in), layout="constrained")


def _wrap(lines: Sequence[str], width_in: float, fontsize: float) -> list[str]:
    """Wrap text lines to the figure width (DejaVu Sans averages ~0.55 em per character)."""
    chars = max(20, int(width_in * 72.0 / (0.55 * fontsize)) - 4)
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width=chars, break_on_hyphens=False) or [""])
    return out


def _bands(
    width_in: float,
    subtitle: str | Sequence[str],
    footnotes: Sequence[str],
    data_cut: str,
    n_legend: int,
    legend_ncols: int,
) -> tuple[list[str], list[str], float, float, float]:
    """Wrapped subtitle and footnote lines, and the heights (inches) of the top band, the
    footnote band and the legend band."""
    sub_lines = _wrap([subtitle] if isinstance(subtitle, str) else list(subtitle), width_in - 0.3, SUBTITLE_SIZE)
    sub_lines = [s for s in sub_lines if s]
    cut = [f"Data cut: {data_cut}" + ("" if data_cut.endswith(".") else ".")] if data_cut else []
    note_lines = _wrap(list(footnotes) + cut, width_in - 0.3, FOOTNOTE_SIZE)
    legend_rows = -(-n_legend // max(1, legend_ncols)) if n_legend else 0
    legend_h = (0.1 + legend_rows * float(RC["legend.fontsize"]) * 1.75 / 72) if legend_rows else 0.0
    top = 0.12 + TITLE_SIZE * 1.35 / 72 + SUBTITLE_SIZE * 1.3 / 72 * len(sub_lines) + 0.06
    notes = (0.08 + FOOTNOTE_SIZE * 1.3 / 72 * len(note_lines)) if note_lines else 0.04
    return sub_lines, note_lines, top, notes, legend_h


def header_footer_heights(
    width_in: float,
    subtitle: str | Sequence[str] = (),
    footnotes: Sequence[str] = (),
    data_cut: str = "",
    n_legend: int = 0,
    legend_ncols: int = 4,
) -> tuple[float, float]:
    """Heights in inches of the bands :func:`add_header_footer` reserves: (top, bottom).

    For figures whose size follows their content (e.g. a flow diagram drawn at 1 unit = 1 inch).
    """
    _, _, top, notes, legend_h = _bands(width_in, subtitle, footnotes, data_cut, n_legend, legend_ncols)
    return top, notes + legend_h


def _draw_title(fig: Figure, title: str, sub_lines: Sequence[str], height: float) -> None:
    """The bold title and the (wrapped) subtitle lines below it, from the top of the figure
    (``height`` in inches)."""
    y = 1 - 0.12 / height
    fig.text(0.015, y, title, ha="left", va="top", fontsize=TITLE_SIZE, fontweight="bold", gid="title")
    y -= TITLE_SIZE * 1.35 / 72 / height
    if sub_lines:
        fig.text(
            0.015,
            y,
            "\n".join(sub_lines),
            ha="left",
            va="top",
            fontsize=SUBTITLE_SIZE,
            linespacing=1.3,
            color=TEXT_GREY,
            gid="subtitle",
        )


def _draw_footnote(fig: Figure, note_lines: Sequence[str], height: float) -> None:
    """The (wrapped) footnote lines at the bottom of the figure (``height`` in inches)."""
    fig.text(
        0.015,
        0.05 / height,
        "\n".join(note_lines),
        ha="left",
        va="bottom",
        fontsize=FOOTNOTE_SIZE,
        linespacing=1.3,
        color=TEXT_GREY,
        gid="footnote",
    )


def _draw_figure_legend(fig: Figure, handles: Sequence[Any], ncols: int, bottom: float) -> None:
    """A figure legend centred above the footnotes (its bottom at ``bottom``, figure
    coordinates), outside the constrained layout."""
    leg = fig.legend(
        handles=list(handles),
        loc="lower center",
        bbox_to_anchor=(0.5, bottom),
        ncols=ncols,
        borderaxespad=0.0,
        handlelength=2.2,
        columnspacing=1.8,
    )
    leg.set_in_layout(False)
    leg.set_gid("legend")


def add_header_footer(
    fig: Figure,
    title: str,
    subtitle: str | Sequence[str] = (),
    footnotes: Sequence[str] = (),
    data_cut: str = "",
    *,
    legend: Sequence[Any] = (),
    legend_ncols: int = 4,
) -> tuple[float, float, float, float]:
    """Title (bold) and subtitle at the top; legend, footnotes and the data cut at the bottom.

    Reserves bands of fixed height (in inches, from the number of wrapped lines and legend
    rows) above and below the constrained-layout area, so these never overlap the axes.
    ``legend``: handles of a figure legend (centred above the footnotes), if any.
    Returns the remaining area (left, bottom, width, height) in figure coordinates.
    """
    width, height = fig.get_size_inches()
    sub_lines, note_lines, top_band, note_h, legend_h = _bands(
        width, subtitle, footnotes, data_cut, len(legend), legend_ncols
    )
    bottom_band = note_h + legend_h
    _draw_title(fig, title, sub_lines, height)
    if note_lines:
        _draw_footnote(fig, note_lines, height)
    if legend:
        _draw_figure_legend(fig, legend, legend_ncols, note_h / height)
    rect = (0.0, bottom_band / height, 1.0, 1 - (top_band + bottom_band) / height)
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=rect)
    return rect


def _axes_key(ax: Axes) -> str:
    """A deterministic per-figure key of ``ax`` (its position in the figure) for SVG ids."""
    fig = ax.get_figure()
    return f"ax{fig.axes.index(ax) if fig is not None and ax in fig.axes else 0}"


def mark_dosing(ax: Axes, days: Sequence[float], color: str = "black", label: str | None = None) -> None:
    """Small down-pointing triangles at the top of ``ax`` at the dosing days (x in data units)."""
    if not len(days):
        return
    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    ax.plot(
        list(days),
        [1.0] * len(days),
        transform=trans,
        ls="none",
        marker="v",
        ms=4.5,
        color=color,
        clip_on=False,
        zorder=5,
        gid=f"dose-marks-{_axes_key(ax)}",
        label=label,
    )


def reference_line(
    ax: Axes, y: float, text: str | None = None, *, color: str = GREY, ls: str = "--", side: str = "right"
) -> None:
    """A horizontal reference line with a small label.

    ``side``: ``"right"``/``"left"`` put the label above the line inside the axes, at that end;
    ``"outside"`` puts it just right of the axes (constrained layout makes room for it).
    """
    key = f"{_axes_key(ax)}-{y:g}"
    ax.axhline(y, color=color, lw=0.8, ls=ls, zorder=1, gid=f"reference-{key}")
    if text:
        trans = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
        x, ha, va = {
            "right": (0.995, "right", "bottom"),
            "left": (0.005, "left", "bottom"),
            "outside": (1.01, "left", "center"),
        }[side]
        ax.text(
            x,
            y,
            text,
            transform=trans,
            ha=ha,
            va=va,
            fontsize=6.5,
            color=color,
            gid=f"reference-label-{key}",
            clip_on=False,
        )


def day_axis(ax: Axes, first: float, last: float, offset: float = 1.0) -> None:
    """Day x axis with a tick every 1, 2 or 4 weeks (by span) at ``offset`` + 7k.

    ``offset=1`` puts the ticks on the nominal visit days of study days (1, 8, 15, ...);
    ``offset=0`` suits time after the first dose (0, 7, 14, ...).
    """
    span = last - first
    step = 7.0 if span <= 64 else 14.0 if span <= 130 else 28.0
    ax.xaxis.set_major_locator(MultipleLocator(step, offset=offset))


def errorbar(ax: Axes, x: Any, y: Any, yerr: Any, gid: str, **kwargs: Any) -> Any:
    """``ax.errorbar`` with unique SVG ids: the data line gets ``gid``, the caps ``gid-cap<i>``
    and the bars ``gid-bars`` (a ``gid`` keyword of errorbar itself would repeat on every part)."""
    container = ax.errorbar(x, y, yerr=yerr, **kwargs)
    line, caps, bars = container.lines
    if line is not None:
        line.set_gid(gid)
    for i, cap in enumerate(caps):
        cap.set_gid(f"{gid}-cap{i}")
    for bar in bars:
        bar.set_gid(f"{gid}-bars")
    return container


def no_data(ax: Axes, text: str = "No data") -> None:
    """Mark an empty panel."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY, fontsize=8)


# --------------------------------------------------------------------------------------- save
def save(fig: Figure, png_path: str | Path, svg_path: str | Path, *, dpi: int = PNG_DPI) -> None:
    """Write ``fig`` as PNG (``dpi``, default 300) and SVG, byte-identically run after run.

    PNG: no creation time (matplotlib writes none) and a fixed ``Software`` text. SVG: no
    ``<dc:date>`` (``Date: None``, so ``SOURCE_DATE_EPOCH`` is not needed), a fixed
    ``svg.hashsalt`` (ids of glyphs/clip paths do not depend on a random uuid), text drawn as
    paths (no dependence on the viewer's fonts), clip-path ids renumbered in order of use
    (:func:`stable_clip_ids`). Neither file embeds a file system path.
    """
    software = f"Matplotlib {mpl.__version__} (fcrnpipe)"
    for path in (png_path, svg_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    with figure_style():
        fig.savefig(png_path, format="png", dpi=dpi, metadata={"Software": software})
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": software})
    with open(svg_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(stable_clip_ids(buf.getvalue()))


_CLIP_ID = re.compile(r'(url\(#|clipPath id=")(p[0-9a-f]{10})\b')


def stable_clip_ids(svg: str) -> str:
    """Replace matplotlib's clip-path ids by ``clip1``, ``clip2``, ... in order of first use.

    matplotlib hashes the clip rectangle's full-precision coordinates into the id, and layout
    arithmetic can differ in the last bits between two renderings of the same figure (the
    coordinates written to the file, 6 decimals, are the same): the ids are arbitrary, so they
    are renumbered to make the file depend on the drawing only.
    """
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        new = names.setdefault(m.group(2), f"clip{len(names) + 1}")
        return m.group(1) + new

    return _CLIP_ID.sub(sub, svg)
