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
    assert len(CAPTIONS) >= 30


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
