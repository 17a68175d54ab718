"""Choice of the PK model by AIC (fcrnpipe.pkpd.selection) on hand-made fit summaries."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fcrnpipe.errors import UserError
from fcrnpipe.pkpd.selection import SELECTION_COLUMNS, chosen_model, selection_table


def summ(ofv, n, aic, bic=None, converged=True, cov="ok"):
    return {
        "ofv": ofv,
        "n_parameters": n,
        "aic": aic,
        "bic": (None if aic is None else aic + 10) if bic is None else bic,
        "convergence": {"converged": converged},
        "covariance_step": {"status": cov},
    }


def test_lowest_aic_is_chosen_and_rows_keep_config_order():
    t = selection_table(
        {"oral1cmt": summ(700.0, 7, 915.8), "sc1cmt_mm": summ(448.9, 8, 663.4, cov="failed")},
        ["sc1cmt_mm", "oral1cmt"],
    )
    assert list(t.columns) == SELECTION_COLUMNS
    assert t["model"].tolist() == ["sc1cmt_mm", "oral1cmt"]
    assert t["chosen"].tolist() == [True, False]
    assert t["delta_AIC"].tolist() == pytest.approx([0.0, 915.8 - 663.4])
    # a failed covariance step is reported, not disqualifying
    assert t.loc[0, "covariance_step"] == "failed"
    assert chosen_model(t) == "sc1cmt_mm"


def test_a_candidate_that_did_not_converge_cannot_be_chosen():
    # issue 10: the lower AIC of an unconverged fit does not count; the table keeps it, with its state
    t = selection_table(
        {"oral1cmt": summ(700.0, 7, 915.8), "sc1cmt_mm": summ(448.9, 8, 663.4, converged=False, cov="failed")},
        ["sc1cmt_mm", "oral1cmt"],
    )
    assert t["chosen"].tolist() == [False, True] and chosen_model(t) == "oral1cmt"
    assert not bool(t.loc[0, "converged"])
    assert t["delta_AIC"].tolist() == pytest.approx([663.4 - 915.8, 0.0])  # relative to the chosen one


def test_no_converged_candidate_stops_with_each_state():
    bad = summ(448.9, 8, 663.4, converged=False)
    bad["convergence"].update(status=2, message="Desired error not necessarily achieved due to precision loss.")
    with pytest.raises(UserError) as exc:
        selection_table({"sc1cmt_mm": bad, "oral1cmt": summ(None, 7, None, converged=False)}, ["sc1cmt_mm", "oral1cmt"])
    msg = str(exc.value)
    assert "no PK candidate converged" in msg
    assert "sc1cmt_mm: not converged (AIC 663.4; status 2, Desired error not necessarily achieved" in msg
    assert "oral1cmt: estimation failed (no finite OFV/AIC)" in msg


def test_tie_goes_to_fewer_parameters_then_config_order():
    t = selection_table({"a": summ(10.0, 5, 20.0), "b": summ(12.0, 4, 20.0)}, ["a", "b"])
    assert chosen_model(t) == "b"
    t = selection_table({"a": summ(10.0, 4, 20.0), "b": summ(10.0, 4, 20.0)}, ["a", "b"])
    assert chosen_model(t) == "a"


def test_a_failed_candidate_cannot_be_chosen():
    t = selection_table({"a": summ(None, 5, None), "b": summ(50.0, 6, 62.0)}, ["a", "b"])
    assert chosen_model(t) == "b"
    assert math.isnan(t.loc[0, "AIC"]) and math.isnan(t.loc[0, "delta_AIC"])
    with pytest.raises(UserError, match="no PK candidate converged.*a: estimation failed"):
        selection_table({"a": summ(None, 5, float("nan"))}, ["a"])


def test_missing_summary_and_bad_table():
    with pytest.raises(UserError, match="no fit summary"):
        selection_table({"a": summ(1.0, 1, 3.0)}, ["a", "b"])
    with pytest.raises(UserError, match="exactly one"):
        chosen_model(pd.DataFrame({"model": ["a", "b"], "chosen": [True, True]}))


def test_chosen_column_read_back_from_csv(tmp_path):
    t = selection_table({"a": summ(10.0, 4, 20.0), "b": summ(1.0, 4, 9.0)}, ["a", "b"])
    t.to_csv(tmp_path / "sel.csv", index=False)
    assert chosen_model(pd.read_csv(tmp_path / "sel.csv")) == "b"


def test_delta_aic_is_written_without_float_noise():
    # 915.7556959 - 663.3640798 = 252.39161609999996 in binary floating point
    t = selection_table({"sc1cmt_mm": summ(448.9, 8, 663.3640798), "oral1cmt": summ(703.3, 7, 915.7556959)},
                        ["sc1cmt_mm", "oral1cmt"])
    assert t["delta_AIC"].tolist() == [0.0, 252.3916161]
    assert repr(float(t.loc[1, "delta_AIC"])) == "252.3916161"
