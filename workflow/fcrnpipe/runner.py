"""Glue for Snakemake rule scripts: logging to the rule's log file and clean user errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from fcrnpipe.errors import UserError


def run(main: Callable[[Any], None], smk: Any) -> None:
    """Run ``main(smk)`` for a rule script.

    Log records go to the rule's ``log:`` file (if any) and stderr. A :class:`UserError`
    ends the job with its message only (exit code 1), never a bare traceback; any other
    exception is a bug and keeps its traceback.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_files = list(getattr(smk, "log", []) or [])
    if log_files:
        handlers.append(logging.FileHandler(str(log_files[0]), mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    try:
        main(smk)
    except UserError as exc:
        rule = getattr(smk, "rule", "?")
        logging.getLogger("fcrnpipe").error("rule %s: %s", rule, exc)
        sys.exit(1)
