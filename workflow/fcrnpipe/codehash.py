"""Fingerprints of the library code a rule runs, so a library change reruns that rule.

Snakemake reruns a job when its rule script changes, but a rule script here is a thin
adapter and the logic lives in this package. Each rule therefore carries, as a parameter,
the SHA-256 of the library modules it uses; editing one of them changes the parameter and
Snakemake's ``params`` rerun trigger reruns exactly the rules that depend on it (and
``--list-changes params`` lists them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: Modules every rule script uses.
CORE = ("errors", "runner", "tableio")


def module_files(module: str, package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Source files of ``fcrnpipe.<module>`` (a module file or every file of a subpackage)."""
    pkg = package_dir / module
    if pkg.is_dir():
        return sorted(p for p in pkg.rglob("*") if p.is_file() and p.suffix in {".py", ".j2", ".mplstyle"}
                      and "__pycache__" not in p.parts)
    single = package_dir / f"{module}.py"
    if single.is_file():
        return [single]
    raise ValueError(f"fcrnpipe has no module {module!r}")


def source_hash(*modules: str, package_dir: Path = PACKAGE_DIR) -> str:
    """Short SHA-256 of the source of the given modules plus the core modules."""
    h = hashlib.sha256()
    for mod in sorted(set(CORE) | set(modules)):
        for path in module_files(mod, package_dir):
            h.update(path.relative_to(package_dir).as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()[:16]
