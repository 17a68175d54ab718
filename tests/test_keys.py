"""The domain keys have one home (fcrnpipe.keys): validation and provenance both read it."""

from __future__ import annotations

import pandas as pd
import pytest

from fcrnpipe import provenance as prov
from fcrnpipe.keys import KEYS, SUBJECT, record_keys
from fcrnpipe.validation.schemas import SPECS, key_columns


def test_every_domain_has_keys_and_a_spec():
    assert list(KEYS) == list(SPECS) == ["dm", "ex", "vs", "lb", "pc", "qs", "ae", "ds"]


@pytest.mark.parametrize("domain", list(SPECS))
def test_validation_natural_key_and_seq_are_the_keys_module_ones(domain):
    spec, keys = SPECS[domain], KEYS[domain]
    assert spec.key == keys.natural and spec.seq == keys.seq and spec.base_key == keys.base


def test_natural_keys_by_hand():
    assert KEYS["ex"].natural == ("USUBJID", "EXTRT", "EXSTDTC")
    assert KEYS["lb"].natural == ("USUBJID", "LBTESTCD", "LBCAT", "LBSCAT", "LBSPEC", "LBPOS", "LBLOC", "VISITNUM",
                                  "LBTPTNUM", "LBDTC")
    assert KEYS["ds"].natural == ("USUBJID", "DSSCAT", "EPOCH")
    # validation leaves out the qualifiers absent from the export
    assert key_columns("vs", ["USUBJID", "VSTESTCD", "VSPOS", "VSDTC", "VSORRES"]) == ("USUBJID", "VSTESTCD", "VSPOS",
                                                                                       "VSDTC")


@pytest.mark.parametrize("domain", list(SPECS))
def test_record_keys_use_variables_of_the_domain_contract(domain):
    spec = SPECS[domain]
    contract = {*spec.required, *spec.optional, *([spec.seq] if spec.seq else [])}
    keys = record_keys(domain)
    assert keys, "a domain without a record key would be diffed as whole rows only"
    for key in keys:
        assert key[0] == SUBJECT and set(key) <= contract, key
    # the last key uses required variables only: every valid export has a usable record key
    assert set(keys[-1]) <= set(spec.required)


def test_record_keys_leave_out_values_corrected_between_cuts():
    # an AE's end date or an EX record's dates are updated between cuts: they are in the natural
    # key (duplicates) but not in the record key (matching the previous cut)
    assert "AEENDTC" in KEYS["ae"].natural and not any("AEENDTC" in k for k in record_keys("ae"))
    assert "EXSTDTC" in KEYS["ex"].natural and record_keys("ex") == (("USUBJID", "EXSEQ"),)
    assert record_keys("xx") == ()


def test_provenance_matches_records_on_the_record_key():
    # the AE resolved between the cuts: one changed cell, not a removed and an added row
    old = pd.DataFrame({"USUBJID": ["S1"], "AESEQ": ["1"], "AETERM": ["Headache"], "AEDECOD": ["Headache"],
                        "AESTDTC": ["2021-01-01"], "AEENDTC": [""]})
    new = old.assign(AEENDTC=["2021-01-05"])
    d = prov.diff_domain("ae", "ae.csv", old, new)
    assert list(zip(d["change"], d["key"], d["column"], d["new"])) == [
        ("cell changed", "USUBJID=S1 AESEQ=1", "AEENDTC", "2021-01-05")
    ]
    # DS: category and decoded term; without DSSCAT the fallback key
    ds = pd.DataFrame({"USUBJID": ["S1"], "DSDECOD": ["COMPLETED"], "DSTERM": ["done"], "DSSTDTC": ["2021-02-01"]})
    d = prov.diff_domain("ds", "ds.csv", ds, ds.assign(DSSTDTC=["2021-02-02"]))
    assert list(d["key"]) == ["USUBJID=S1 DSDECOD=COMPLETED"]
