"""Optional: WeasyPrint's hottest pure-Python modules compiled with Cython, in place.

The command is ``python -m reports.speedups`` (reports/speedups.py):

    python -m reports.speedups            build what is missing or out of date (idempotent)
    python -m reports.speedups --check    exit 1 unless every module is compiled and current
    python -m reports.speedups --remove   delete the compiled modules (back to pure Python)

Why: a diagnostic report spends almost all of its time in WeasyPrint's layout, style and
drawing code, which is plain Python. Compiled by Cython the same code runs about 20 % faster
and writes byte-for-byte the same PDF (tests/test_reports_render.py renders with and without
and compares); figures in docs/performance.md. ``make install`` runs this; without a C
compiler the reports are simply slower.

How: the sources are copied to a temporary folder, compiled there, and only the extension
modules (``*.cpython-311-…so``) are copied next to the ``.py`` files in site-packages, where
Python's import system prefers them. A stamp file beside the packages records the sha256 of
each compiled source: a module whose source changed (WeasyPrint upgraded) counts as stale,
``--check`` fails and the next build recompiles it. Modules that Cython cannot compile stay
pure Python.

Building needs Cython, setuptools and a C compiler (``pip install '.[speedups]'``; Debian:
gcc and the Python headers); the application only calls guard() when ``reports`` is imported.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

#: Modules by time spent in them while rendering a report (profiled with cProfile);
#: package modules are named by their __init__. Left out: weasyprint.layout.preferred
#: (Cython refuses a starred expression in it) and weasyprint.svg.utils (Cython's min() of
#: C doubles returns 1.0 where Python returns the int 1, which renames an opacity state in
#: the PDF: harmless, but the output would no longer be byte-identical).
MODULES = (
    "weasyprint.css.__init__",
    "weasyprint.css.computed_values",
    "weasyprint.css.functions",
    "weasyprint.layout.__init__",
    "weasyprint.layout.absolute",
    "weasyprint.layout.background",
    "weasyprint.layout.block",
    "weasyprint.layout.float",
    "weasyprint.layout.inline",
    "weasyprint.layout.min_max",
    "weasyprint.layout.page",
    "weasyprint.layout.percent",
    "weasyprint.formatting_structure.boxes",
    "weasyprint.formatting_structure.build",
    "weasyprint.text.fonts",
    "weasyprint.text.line_break",
    "weasyprint.draw.__init__",
    "weasyprint.draw.border",
    "weasyprint.draw.color",
    "weasyprint.draw.text",
    "weasyprint.svg.__init__",
    "weasyprint.svg.defs",
    "weasyprint.pdf.__init__",
    "weasyprint.pdf.fonts",
    "weasyprint.pdf.stream",
    "weasyprint.pdf.tags",
    "weasyprint.anchors",
    "weasyprint.html",
    "weasyprint.images",
    "weasyprint.layout.leader",
    "weasyprint.text.ffi",
    "weasyprint.document",
    "weasyprint.matrix",
    "weasyprint.stacking",
    "pydyf.__init__",
    "cssselect2.__init__",
    "cssselect2.tree",
    "tinycss2.color4",
    "tinycss2.color5",
    "tinycss2.parser",
    "tinycss2.tokenizer",
)

STAMP_NAME = "coopdiag-speedups.json"
EXTENSION_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _package_dir(top: str) -> Path:
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"No está instalado el paquete {top}.")
    return Path(next(iter(spec.submodule_search_locations)))


def site_dir() -> Path:
    """The folder that holds the packages (site-packages of this interpreter's environment)."""
    return _package_dir("weasyprint").parent


def source_of(module: str) -> Path:
    return site_dir() / (module.replace(".", "/") + ".py")


def binary_of(module: str) -> Path:
    return site_dir() / (module.replace(".", "/") + EXTENSION_SUFFIX)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stamp_path() -> Path:
    return site_dir() / STAMP_NAME


def _read_stamp() -> dict:
    try:
        return json.loads(_stamp_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _entry(source: Path) -> dict:
    stat = source.stat()
    return {"sha256": _sha256(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _recorded() -> dict[str, dict]:
    entries = _read_stamp().get("modules", {})
    return {module: entry for module, entry in entries.items() if isinstance(entry, dict)}


def status() -> dict[str, str]:
    """module → "compiled" (binary present, built from the present source), "stale" (binary
    built from another source), "missing" (pure Python) or "absent" (no such module)."""
    recorded = _recorded()
    result = {}
    for module in MODULES:
        source, binary = source_of(module), binary_of(module)
        if not source.is_file():
            result[module] = "absent"
        elif not binary.is_file():
            result[module] = "missing"
        elif recorded.get(module, {}).get("sha256") == _sha256(source):
            result[module] = "compiled"
        else:
            result[module] = "stale"
    return result


def stale_binaries() -> list[str]:
    """Compiled modules whose source is no longer the one they were built from, judged by
    size and modification time only (cheap enough for every start-up): after an upgrade of
    WeasyPrint without a rebuild, the old binary would otherwise shadow the new source."""
    recorded = _recorded()
    stale = []
    for module in MODULES:
        binary = binary_of(module)
        if not binary.is_file():
            continue
        entry = recorded.get(module, {})
        try:
            stat = source_of(module).stat()
        except OSError:
            stale.append(module)
            continue
        if (entry.get("size"), entry.get("mtime_ns")) != (stat.st_size, stat.st_mtime_ns):
            stale.append(module)
    return stale


def guard() -> list[str]:
    """Import stale compiled modules (see stale_binaries) from their source instead, with a
    warning; called when ``reports`` is imported, before WeasyPrint is."""
    try:
        stale = stale_binaries()
    except Exception:  # noqa: BLE001 - no WeasyPrint installed, unreadable stamp: nothing to guard
        return []
    if stale:
        import warnings

        warnings.warn(
            f"compiled WeasyPrint modules out of date, using their source instead: {', '.join(stale)} "
            "(python -m reports.speedups rebuilds them)",
            RuntimeWarning,
            stacklevel=2,
        )
        use_pure_python(stale)
    return stale


class _PurePythonFinder:
    """Meta path finder that loads some of MODULES from their .py files even where a compiled
    one sits beside them (see use_pure_python)."""

    def __init__(self, modules):
        self.modules = set(modules)

    def find_spec(self, name, path=None, target=None):
        key = name if name + ".__init__" not in self.modules else name + ".__init__"
        if key not in self.modules:
            return None
        source = source_of(key)
        if not source.is_file():
            return None
        package = [str(source.parent)] if key.endswith(".__init__") else None
        return importlib.util.spec_from_file_location(name, source, submodule_search_locations=package)


def use_pure_python(modules=MODULES) -> None:
    """Make this process import ``modules`` (all by default) from their source, compiled or
    not (comparisons in tests and bench/reports.py --pure; stale binaries). Call it before
    WeasyPrint is imported."""
    packages = {module.split(".")[0] for module in modules}
    loaded = [name for name in sys.modules if name.split(".")[0] in packages]
    if loaded:
        raise RuntimeError(f"use_pure_python() must run before {loaded[0]} is imported")
    sys.meta_path.insert(0, _PurePythonFinder(modules))


def remove() -> int:
    removed = 0
    for module in MODULES:
        binary = binary_of(module)
        if binary.is_file():
            binary.unlink()
            removed += 1
    _stamp_path().unlink(missing_ok=True)
    return removed


def _compile(modules: list[str], build_root: Path, jobs: int) -> list[str]:
    """Compile ``modules`` from copies under ``build_root``; return those that compiled."""
    from Cython.Build import cythonize
    from Cython.Compiler.Errors import CompileError
    from setuptools import Extension
    from setuptools import setup as setuptools_setup

    extensions = []
    for module in modules:
        relative = Path(module.replace(".", "/") + ".py")
        copy = build_root / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_of(module), copy)
        for parent in relative.parents:  # Cython names modules after their packages
            init = build_root / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("", encoding="utf-8")
        extensions.append(Extension(module, [relative.as_posix()], extra_compile_args=["-O2", "-g0", "-w"]))

    cwd = os.getcwd()
    os.chdir(build_root)
    try:
        compiled = []
        for extension in extensions:
            try:
                compiled += cythonize([extension], language_level=3, quiet=True, compiler_directives={"binding": True})
            except CompileError:
                print(f"  {extension.name}: Cython no lo compila; queda en Python puro", file=sys.stderr)
        setuptools_setup(
            name="coopdiag-speedups",
            ext_modules=compiled,
            script_args=["-q", "build_ext", "--inplace", "-j", str(jobs)],
        )
    finally:
        os.chdir(cwd)
    return [e.name for e in compiled if (build_root / (e.name.replace(".", "/") + EXTENSION_SUFFIX)).is_file()]


def build(*, jobs: int | None = None, force: bool = False) -> dict[str, str]:
    """Compile every module that is missing or stale (all of them with ``force``)."""
    current = status()
    todo = [m for m, state in current.items() if state in ("missing", "stale") or (force and state != "absent")]
    if not todo:
        return current
    recorded = _recorded()
    for module in todo:  # a stale binary must not shadow its new source, even if the build fails
        binary_of(module).unlink(missing_ok=True)
        recorded.pop(module, None)
    with tempfile.TemporaryDirectory(prefix="coopdiag-speedups-") as folder:
        build_root = Path(folder)
        done = _compile(todo, build_root, jobs or os.cpu_count() or 1)
        for module in done:
            shutil.copyfile(build_root / (module.replace(".", "/") + EXTENSION_SUFFIX), binary_of(module))
            recorded[module] = _entry(source_of(module))
    _stamp_path().write_text(
        json.dumps({"python": sys.version.split()[0], "modules": recorded}, indent=1, sort_keys=True), encoding="utf-8"
    )
    return status()
