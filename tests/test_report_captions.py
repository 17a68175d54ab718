"""Every report caption renders (Jinja2 with the shipped config, then reStructuredText) without
a docutils warning or error, which Snakemake's report would show as a "System Message"."""

from __future__ import annotations

from pathlib import Path

import docutils.core
import jinja2
import pytest

from conftest import ROOT

CAPTIONS = sorted((ROOT / "workflow" / "report").glob("*.rst"))


class _Wildcards(dict):
    """Any wildcard a caption asks for (``snakemake.wildcards.endpoint``)."""

    def __getattr__(self, name: str) -> str:
        return f"<{name}>"


class _Snakemake:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.wildcards = _Wildcards()
        self.params = _Wildcards()


def test_there_are_captions():
    assert len(CAPTIONS) >= 14


def _registry_names(kind: str) -> list[str]:
    from test_registry import rule_names

    return rule_names(kind)


def _pkpd_plot_names() -> list[str]:
    from fcrnpipe.pkpd.registry import PLOTS

    return list(PLOTS)


@pytest.mark.parametrize(
    "template,name",
    [("table.rst", n) for n in _registry_names("table")] + [("figure.rst", n) for n in _registry_names("figure")]
    + [("pkpd_plot.rst", n) for n in _pkpd_plot_names()],
)
def test_every_table_and_figure_has_its_caption(template: str, name: str, config):
    """The generic rules' caption templates (one branch per name, selected by the wildcard
    ``name``, as Snakemake's report renders them) give each registry name its own text."""
    text = _render(template, config, name=name)
    assert "No caption" not in text and config["data_cut"] in text, text[:300]
    assert len(text) > 300


def test_a_name_without_a_caption_would_be_caught(config):
    assert "No caption for table nope" in _render("table.rst", config, name="nope")
    assert "No caption for PK/PD plot nope" in _render("pkpd_plot.rst", config, name="nope")


def test_pkpd_plot_captions_name_their_endpoint(config):
    assert _render("pkpd_plot.rst", config, name="gof_pk").startswith(
        "Goodness-of-fit plots of the final model for batoclimab concentrations (PK model)")
    assert _render("pkpd_plot.rst", config, name="gof_igg").startswith(
        "Goodness-of-fit plots of the final model for total IgG (IgG turnover model)")
    assert _render("pkpd_plot.rst", config, name="individual_fits_igg").startswith(
        "Individual fits of the final model for total IgG (data cut")
    assert _render("pkpd_plot.rst", config, name="eta_distributions").startswith("Distributions of the random effects")


@pytest.mark.parametrize("path", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_rst_messages(path: Path, config):
    text = jinja2.Template(path.read_text(encoding="utf-8"), undefined=jinja2.StrictUndefined).render(
        snakemake=_Snakemake(config))
    parts = docutils.core.publish_parts(
        text, writer="html", settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": False})
    assert "system-message" not in parts["html_body"], parts["html_body"]


def test_a_broken_caption_would_be_caught(config):
    parts = docutils.core.publish_parts(
        "RSE = 100·SE/|estimate|", writer="html",
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": False})
    assert "system-message" in parts["html_body"]


class _Given(_Wildcards):
    """Wildcards with given values."""

    def __getattr__(self, name: str) -> str:
        return self[name] if name in self else super().__getattr__(name)


def _render(caption: str, config: dict, endpoint: str = "pk", **wildcards: str) -> str:
    """A caption rendered with ``config`` and wildcard ``endpoint`` (and ``wildcards``; checked as
    above), as one line."""
    snk = _Snakemake(config)
    snk.wildcards = _Given(endpoint=endpoint, **wildcards)
    text = jinja2.Template((ROOT / "workflow" / "report" / caption).read_text(encoding="utf-8"),
                           undefined=jinja2.StrictUndefined).render(snakemake=snk)
    parts = docutils.core.publish_parts(
        text, writer="html", settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": False})
    assert "system-message" not in parts["html_body"], parts["html_body"]
    return " ".join(text.split())


def test_vpc_caption_states_strata_percentiles_and_correction(config):
    import copy

    text = _render("pkpd_vpc.rst", config)
    assert "one panel per dose level" in text and "10th/50th/90th" in text and "states which were used and why" in text
    assert "at least 20 observations" in text and "Prediction correction" not in text
    cfg = copy.deepcopy(config)
    cfg["pkpd"]["vpc"].update(stratify_on=None, prediction_corrected=True, percentiles=[5, 50, 95])
    text = _render("pkpd_vpc.rst", cfg, "igg")
    assert text.startswith("Prediction-corrected visual predictive check of total IgG")
    assert "all subjects pooled" in text and "the 5/50/95 percentiles, as configured" in text
    assert "Bergstrand" in text


def test_regimen_captions_name_the_two_intervals_and_the_parameter_source(config):
    import copy

    for name in ("pkpd_regimen_simulation.rst", "pkpd_regimen_table.rst", "pkpd_reproduction.rst"):
        text = _render(name, config)
        assert "across trials" in text and "between-subject" in text, name
    assert "bootstrap replicate" in _render("pkpd_regimen_simulation.rst", config)
    cfg = copy.deepcopy(config)
    cfg["pkpd"]["bootstrap"]["replicates"] = 0
    assert "covariance step" in _render("pkpd_regimen_simulation.rst", cfg)


def test_parameter_caption_states_covariate_relations(config):
    import copy

    text = _render("pkpd_population_parameters.rst", config)
    assert "Covariate relations" not in text  # none by default
    cfg = copy.deepcopy(config)
    cfg["pkpd"]["covariates"] = [
        {"parameter": "CL", "covariate": "WT", "reference": 70, "exponent": 0.75, "estimate": False},
        {"parameter": "V", "covariate": "WT", "reference": "median", "exponent": 1.0, "estimate": True},
    ]
    text = _render("pkpd_population_parameters.rst", cfg)
    assert "WT on CL (reference 70, exponent fixed at 0.75);" in text
    assert "WT on V (reference median, exponent estimated, row ``WT_on_V``)." in text
