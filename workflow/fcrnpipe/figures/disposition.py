"""Study population figure: CONSORT-style flow of subjects; the counts are the ARD's display rows
``Disposition flow: ...`` (stats stage, disposition part)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from fcrnpipe.errors import UserError
from fcrnpipe.figures.common import ard_counts
from fcrnpipe.stats.ard import DISPLAY, ard_from_endpoints
from fcrnpipe.stats.descriptive import OVERALL, POPULATION_LABELS, frame
from fcrnpipe.stats.disposition import FLOW, FLOW_ANALYSIS_SETS, disposition_flow_rows
from fcrnpipe.figures.style import (
    GREY,
    TEXT_GREY,
    Arm,
    add_header_footer,
    arms_from_config,
    as_overall_arm,
    header_footer_heights,
    styled,
)

ArmsArg = Sequence[Mapping[str, Any] | Arm]


@dataclass(frozen=True)
class ArmDisposition:
    """Counts of one arm; treatment counts among dosed subjects, study counts among allocated."""

    allocated: int
    dosed: int
    completed_treatment: int
    discontinued_treatment: int
    treatment_ongoing: int
    treatment_reasons: dict[str, int] = field(default_factory=dict)
    completed_study: int = 0
    withdrew_study: int = 0
    study_ongoing: int = 0
    study_reasons: dict[str, int] = field(default_factory=dict)
    analysis_sets: dict[str, int] = field(default_factory=dict)
    not_dosed: int = 0


@dataclass(frozen=True)
class Disposition:
    enrolled: int
    not_allocated: int
    arms: dict[str, ArmDisposition]


def disposition_from_ard(ard: pd.DataFrame, arms: ArmsArg) -> Disposition:
    """The flow's counts from the ARD's display rows ``Disposition flow: ...`` (disposition part,
    :func:`fcrnpipe.stats.disposition.disposition_flow_rows`); reasons sorted by count, then name."""
    arm_list = arms_from_config(arms)
    c = ard_counts(ard, f"{FLOW}: ")
    if not c:
        raise UserError("ARD (stats/parts/disposition.csv): no 'Disposition flow' rows")
    by_arm: dict[tuple[str, str], int] = {(e[len(FLOW) + 2 :], a): v for (e, _, a), v in c.items()}

    def reasons(stem: str, arm: str) -> dict[str, int]:
        head = f"{stem}: "
        got = {e[len(head) :]: v for (e, a), v in by_arm.items() if a == arm and e.startswith(head)}
        return dict(sorted(got.items(), key=lambda kv: (-kv[1], kv[0])))

    sets = {POPULATION_LABELS[flag]: name for flag, name in FLOW_ANALYSIS_SETS}
    out: dict[str, ArmDisposition] = {}
    for arm in arm_list:
        a = arm.armcd
        present = {p: v for (e, p, x), v in c.items() if x == a and e == f"{FLOW}: analysis set"}
        out[a] = ArmDisposition(
            allocated=by_arm[("allocated", a)],
            dosed=by_arm[("received at least one dose", a)],
            not_dosed=by_arm[("did not receive a dose", a)],
            completed_treatment=by_arm[("completed treatment", a)],
            discontinued_treatment=by_arm[("discontinued treatment", a)],
            treatment_ongoing=by_arm[("treatment ongoing", a)],
            treatment_reasons=reasons("discontinued treatment", a),
            completed_study=by_arm[("completed study", a)],
            withdrew_study=by_arm[("withdrew from study", a)],
            study_ongoing=by_arm[("study ongoing", a)],
            study_reasons=reasons("withdrew from study", a),
            analysis_sets={sets[p]: present[p] for p in sets if p in present},
        )
    return Disposition(enrolled=by_arm[("enrolled", OVERALL)], not_allocated=by_arm[("not allocated", OVERALL)], arms=out)


def disposition_ard(adsl: pd.DataFrame, arms: ArmsArg) -> pd.DataFrame:
    """The ARD rows of the flow, computed from ADSL by the stats stage's function (for callers
    without the stats stage's ``stats/parts/disposition.csv``)."""
    return ard_from_endpoints(frame(disposition_flow_rows(adsl, [a.armcd for a in arms_from_config(arms)])), DISPLAY)


def disposition_counts(adsl: pd.DataFrame, arms: ArmsArg) -> Disposition:
    """Enrolled, allocated per arm, dosed (SAFFL), treatment and study completion with reasons,
    as the stats stage computes them (:func:`disposition_ard`, :func:`disposition_from_ard`).

    Enrolled = every ADSL row; subjects whose ARMCD is not a configured arm count as not
    allocated. Treatment status (EOTSTT, DCTREAS) is counted among dosed subjects; study status
    (EOSSTT, DCSREAS) among allocated subjects. Reasons sorted by count, then name.
    """
    return disposition_from_ard(disposition_ard(adsl, arms), arms)


# ---------------------------------------------------------------------------------- drawing
# the flow is drawn at 1 data unit = 1 inch
BOX_FONT = 7.5
LINE_H = BOX_FONT * 1.35 / 72
PAD_H = 0.16


def _height(text: str) -> float:
    return PAD_H + LINE_H * (text.count("\n") + 1)


def _box(
    ax: Axes,
    x: float,
    y_top: float,
    w: float,
    text: str,
    color: str,
    gid: str,
    *,
    align: str = "center",
    fill: str = "white",
) -> tuple[float, float]:
    """Rounded box with its top edge at ``y_top`` centred on ``x``; returns (top, bottom)."""
    h = _height(text)
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y_top - h),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=fill,
            edgecolor=color,
            lw=1.0,
            zorder=2,
            gid=gid,
        )
    )
    tx = x if align == "center" else x - w / 2 + 0.1
    ax.text(
        tx,
        y_top - h / 2,
        text,
        ha=align,
        va="center",
        fontsize=BOX_FONT,
        linespacing=1.35,
        zorder=3,
        color="black",
        gid=f"{gid}-text",
    )
    return y_top, y_top - h


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = TEXT_GREY) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        zorder=1,
        arrowprops={"arrowstyle": "-|>", "lw": 0.8, "color": color, "shrinkA": 0, "shrinkB": 0, "mutation_scale": 8},
    )


def _line(ax: Axes, xs: Sequence[float], ys: Sequence[float], color: str = TEXT_GREY) -> None:
    ax.plot(xs, ys, color=color, lw=0.8, zorder=1, solid_capstyle="butt")


def _reason_text(head: str, n: int, reasons: Mapping[str, int]) -> str:
    lines = [f"{head} (n = {n})"] + [f"  • {r} (n = {k})" for r, k in reasons.items()]
    return "\n".join(lines)


#: Column geometry of the flow (inches): main boxes, side boxes, the gap between them, the
#: left margin (stage labels) and the vertical gap between rows.
FLOW_MAIN_W, FLOW_SIDE_W, FLOW_SIDE_GAP, FLOW_LEFT, FLOW_GAP = 2.3, 2.3, 0.35, 0.75, 0.28
FLOW_COL_W = FLOW_MAIN_W + FLOW_SIDE_GAP + FLOW_SIDE_W + 0.35


def _flow_texts(d: Disposition, arm_list: Sequence[Arm], treat: str) -> dict[str, dict[str, str]]:
    """Each row's box text per arm (ARMCD), rows in drawing order."""
    rows: dict[str, dict[str, str]] = {
        k: {} for k in ("alloc", "nodose", "dosed", "disc", "treat", "wd", "study", "sets")
    }
    for arm in arm_list:
        a = d.arms[arm.armcd]
        rows["alloc"][arm.armcd] = f"Allocated to {arm.label}\n(n = {a.allocated})"
        rows["nodose"][arm.armcd] = f"Did not receive {treat} (n = {a.not_dosed})"
        rows["dosed"][arm.armcd] = f"Received ≥1 dose of {treat}\n(n = {a.dosed})"
        rows["disc"][arm.armcd] = _reason_text("Discontinued treatment", a.discontinued_treatment, a.treatment_reasons)
        rows["treat"][arm.armcd] = f"Completed treatment\n(n = {a.completed_treatment})" + (
            f"\nTreatment ongoing (n = {a.treatment_ongoing})" if a.treatment_ongoing else ""
        )
        rows["wd"][arm.armcd] = _reason_text("Withdrew from study", a.withdrew_study, a.study_reasons)
        rows["study"][arm.armcd] = f"Completed study\n(n = {a.completed_study})" + (
            f"\nStudy ongoing (n = {a.study_ongoing})" if a.study_ongoing else ""
        )
        rows["sets"][arm.armcd] = "Analysis sets\n" + "\n".join(f"{k}: n = {v}" for k, v in a.analysis_sets.items())
    return rows


def _flow_rows_y(enrol_text: str, rows: Mapping[str, Mapping[str, str]]) -> tuple[dict[str, float], float]:
    """Top of each row (each as tall as its tallest box) and the bottom of the content."""
    ys: dict[str, float] = {"enrol": 0.0}
    y = -(_height(enrol_text) + 2 * FLOW_GAP)
    for key in rows:
        ys[key] = y
        y -= max(_height(t) for t in rows[key].values()) + FLOW_GAP
    return ys, y + FLOW_GAP - 0.05


def _draw_enrolment(
    ax: Axes, cx: float, y: float, enrol_text: str, not_allocated: int, color: str, alloc_y: float
) -> float:
    """The enrolled box (and the not-allocated box beside it) and the connector down to the
    allocation bus; returns the bus's y."""
    enrol_h = _height(enrol_text)
    _, enrol_bottom = _box(ax, cx, y, 2.0, enrol_text, color, "box-enrolled")
    if not_allocated:
        _box(
            ax,
            cx + 1.0 + FLOW_SIDE_GAP + 1.0,
            y - (enrol_h - _height("x")) / 2,
            2.0,
            f"Not allocated (n = {not_allocated})",
            GREY,
            "box-not-allocated",
            fill="#f7f7f7",
        )
        _arrow(ax, (cx + 1.0, y - enrol_h / 2), (cx + 1.0 + FLOW_SIDE_GAP, y - enrol_h / 2))
    bus = (enrol_bottom + alloc_y) / 2
    _line(ax, [cx, cx], [enrol_bottom, bus])
    return bus


def _draw_arm_column(
    ax: Axes, arm: Arm, x: float, bus: float, ys: Mapping[str, float], rows: Mapping[str, Mapping[str, str]]
) -> None:
    """One arm's column: allocated, then each main box with its side box (no dose, discontinued
    treatment, withdrew) hanging off the connector."""
    a = arm.armcd
    main_w, side_w, side_gap = FLOW_MAIN_W, FLOW_SIDE_W, FLOW_SIDE_GAP
    _arrow(ax, (x, bus), (x, ys["alloc"]))
    _, prev_bottom = _box(ax, x, ys["alloc"], main_w, rows["alloc"][a], arm.color, f"box-allocated-{a}")
    for main_key, side_key in (("dosed", "nodose"), ("treat", "disc"), ("study", "wd"), ("sets", None)):
        # a side box hangs off the vertical connector between prev_bottom and the next main box
        _line(ax, [x, x], [prev_bottom, ys[main_key] + 0.1])
        _arrow(ax, (x, ys[main_key] + 0.1), (x, ys[main_key]))
        if side_key is not None:
            sx = x + main_w / 2 + side_gap + side_w / 2
            st, sb = _box(
                ax,
                sx,
                ys[side_key],
                side_w,
                rows[side_key][a],
                GREY,
                f"box-{side_key}-{a}",
                align="left",
                fill="#f7f7f7",
            )
            _arrow(ax, (x, (st + sb) / 2), (sx - side_w / 2, (st + sb) / 2))
        fill = "#f0f4fa" if main_key == "sets" else "white"
        _, prev_bottom = _box(
            ax, x, ys[main_key], main_w, rows[main_key][a], arm.color, f"box-{main_key}-{a}", fill=fill
        )


def _draw_stage_labels(ax: Axes, ys: Mapping[str, float], bottom: float) -> None:
    """The CONSORT stage labels on the left (Enrolment, Allocation, Treatment, Follow-up, Analysis)."""
    gap = FLOW_GAP
    edges = {
        "Enrolment": (0.05, ys["alloc"] + gap / 2),
        "Allocation": (ys["alloc"] + gap / 2, ys["dosed"] + gap / 2),
        "Treatment": (ys["dosed"] + gap / 2, ys["wd"] + gap / 2),
        "Follow-up": (ys["wd"] + gap / 2, ys["sets"] + gap / 2),
        "Analysis": (ys["sets"] + gap / 2, bottom),
    }
    for name, (top, bot) in edges.items():
        ax.add_patch(
            FancyBboxPatch(
                (0.08, bot + 0.04),
                0.32,
                top - bot - 0.08,
                boxstyle="round,pad=0,rounding_size=0.05",
                facecolor="#e8eef7",
                edgecolor="none",
                zorder=0,
            )
        )
        ax.text(
            0.24,
            (top + bot) / 2,
            name,
            rotation=90,
            ha="center",
            va="center",
            fontsize=7,
            fontweight="bold",
            color=TEXT_GREY,
        )


@styled
def plot_disposition_flow(
    adsl: pd.DataFrame | None,
    arms: ArmsArg,
    *,
    overall: Mapping[str, Any] | Arm | None = None,
    treatment: str = "batoclimab",
    data_cut: str = "",
    ard: pd.DataFrame | None = None,
) -> Figure:
    """CONSORT-style flow: enrolled -> allocated per arm -> received >= 1 dose -> completed /
    discontinued treatment (reasons) -> completed study / withdrew (reasons) -> analysis sets.

    Every count is read from ``ard`` (the disposition part's ``Disposition flow`` rows,
    :func:`disposition_from_ard`); without one, computed from ``adsl`` by the stats stage's
    function first. Drawn with boxes and arrows at 1 data unit = 1 inch; the figure size follows
    the content.
    """
    arm_list = arms_from_config(arms)
    ov = as_overall_arm(overall)
    d = disposition_from_ard(ard if ard is not None else disposition_ard(adsl, arm_list), arm_list)
    treat = treatment.lower()
    width = FLOW_LEFT + FLOW_COL_W * len(arm_list)
    # texts first: each row is as tall as its tallest box
    rows = _flow_texts(d, arm_list, treat)
    enrol_text = f"Enrolled\n(n = {d.enrolled})"
    ys, bottom = _flow_rows_y(enrol_text, rows)
    content_h = -bottom + 0.1

    subtitle = f"All enrolled subjects (N = {d.enrolled}): " + "; ".join(
        f"{arm.label} n = {d.arms[arm.armcd].allocated}" for arm in arm_list
    )
    notes = [
        f"Treatment status (completed or discontinued {treat}) among subjects who received at least one dose; "
        "study status among allocated subjects, including those who discontinued treatment and stayed in "
        "follow-up. Reasons as recorded in the disposition data (DCTREAS, DCSREAS). Analysis sets: Safety = "
        f"≥1 {treat} dose; PK = ≥1 measurable concentration; PD = baseline and ≥1 post-baseline IgG.",
    ]
    top_h, bottom_h = header_footer_heights(width, subtitle, notes, data_cut)
    fig = Figure(figsize=(width, content_h + top_h + bottom_h))
    rect = add_header_footer(fig, "Subject disposition", subtitle, notes, data_cut)
    ax = fig.add_axes(rect)
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(bottom, 0.1)

    centers = [FLOW_LEFT + FLOW_COL_W * i + FLOW_MAIN_W / 2 + 0.1 for i in range(len(arm_list))]
    cx = (centers[0] + centers[-1]) / 2
    bus = _draw_enrolment(ax, cx, ys["enrol"], enrol_text, d.not_allocated, ov.color, ys["alloc"])
    if len(centers) > 1:
        _line(ax, [centers[0], centers[-1]], [bus, bus])
    for arm, x in zip(arm_list, centers):
        _draw_arm_column(ax, arm, x, bus, ys, rows)
    _draw_stage_labels(ax, ys, bottom)
    return fig
