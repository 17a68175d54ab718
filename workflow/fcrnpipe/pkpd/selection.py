"""Choice of the structural PK model among the configured candidates (``pkpd.pk_candidates``).

Every candidate is fitted to the same concentration records with the same residual error
model and BLQ method, so their likelihoods are comparable; among the candidates whose fit
converged (optimiser convergence criterion met, finite AIC) the one with the lowest AIC is kept.
A candidate that did not converge, or whose estimation failed (no finite OFV), cannot be chosen;
it stays in the table with its state. If no candidate converged the stage fails with a message
naming each candidate's state. Ties (equal AIC to 1e-6) go to the fewer parameters, then to the
configuration order. ``delta_AIC`` = AIC - AIC of the chosen candidate (negative for a
non-converged candidate with a lower AIC).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from fcrnpipe.errors import UserError
from fcrnpipe.nlme.results import round_sig

SELECTION_COLUMNS = ["model", "OFV", "n_parameters", "AIC", "BIC", "delta_AIC", "converged", "covariance_step", "chosen"]


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def candidate_state(summary: Mapping[str, Any]) -> str:
    """One candidate's fit state in words: converged or not (with the optimiser's status and
    message), or estimation failed; its AIC when finite."""
    conv = summary.get("convergence", {})
    conv = conv if isinstance(conv, Mapping) else {"converged": bool(conv)}
    aic = summary.get("aic")
    if not _finite(aic):
        return "estimation failed (no finite OFV/AIC)" + (f": {conv['message']}" if conv.get("message") else "")
    if conv.get("converged", False):
        return f"converged (AIC {float(aic):.6g})"
    detail = ", ".join(
        str(x) for x in (f"status {conv['status']}" if "status" in conv else "", conv.get("message", "")) if x
    )
    return f"not converged (AIC {float(aic):.6g}" + (f"; {detail})" if detail else ")")


def selection_table(summaries: Mapping[str, Mapping[str, Any]], order: Sequence[str] | None = None) -> pd.DataFrame:
    """``model_selection.csv`` from the ``fit_summary.json`` content of each candidate.

    ``summaries``: candidate name -> summary (keys ``ofv``, ``aic``, ``bic``,
    ``n_parameters``, ``convergence.converged``, ``covariance_step.status``).
    ``order``: configuration order of the candidates (tie-break; default: as given).
    Rows keep the configuration order; exactly one row has ``chosen`` True, a converged one;
    ``UserError`` naming every candidate's state when none converged.
    """
    order = list(order) if order is not None else list(summaries)
    missing = [m for m in order if m not in summaries]
    if missing:
        raise UserError(f"model selection: no fit summary for candidate(s) {', '.join(missing)}")
    rows = []
    for name in order:
        s = summaries[name]
        conv = s.get("convergence", {})
        cov = s.get("covariance_step", {})
        rows.append(
            {
                "model": name,
                "OFV": float(s["ofv"]) if _finite(s.get("ofv")) else float("nan"),
                "n_parameters": int(s.get("n_parameters", 0)),
                "AIC": float(s["aic"]) if _finite(s.get("aic")) else float("nan"),
                "BIC": float(s["bic"]) if _finite(s.get("bic")) else float("nan"),
                "converged": bool(conv.get("converged", False)) if isinstance(conv, Mapping) else bool(conv),
                "covariance_step": str(cov.get("status", "not run")) if isinstance(cov, Mapping) else str(cov),
            }
        )
    df = pd.DataFrame(rows)
    ok = df["AIC"].map(_finite) & df["converged"]
    if not ok.any():
        states = "; ".join(f"{name}: {candidate_state(summaries[name])}" for name in order)
        raise UserError(
            f"model selection: no PK candidate converged, so none can be chosen ({states}); "
            "see pkpd/candidates/<model>/fit_summary.json and the rule logs"
        )
    best = df.loc[ok, "AIC"].min()
    # rounded like the other fit numbers: a difference of rounded values carries float noise
    df["delta_AIC"] = round_sig(df["AIC"] - best)
    tied = df[ok & (df["AIC"] - best <= 1e-6)]
    chosen = tied.sort_values("n_parameters", kind="stable").index[0]
    df["chosen"] = df.index == chosen
    return df[SELECTION_COLUMNS]


def chosen_model(table: pd.DataFrame) -> str:
    """The name of the chosen candidate of a selection table."""
    rows = table[table["chosen"].astype(str).str.lower().isin(["true", "1"])]
    if len(rows) != 1:
        raise UserError("model_selection.csv: exactly one candidate must be marked chosen")
    return str(rows["model"].iloc[0])
