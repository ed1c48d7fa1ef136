"""Optional: compile WeasyPrint's hottest pure-Python modules with Cython, in place.

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

Nothing here is imported by the application: it needs Cython, setuptools and a C compiler
(``pip install '.[speedups]'``; Debian: gcc and the Python headers).
"""

from __future__ import annotations

import argparse
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


def status() -> dict[str, str]:
    """module → "compiled" (binary present, built from the present source), "stale" (binary
    built from another source), "missing" (pure Python) or "absent" (no such module)."""
    recorded = _read_stamp().get("modules", {})
    result = {}
    for module in MODULES:
        source, binary = source_of(module), binary_of(module)
        if not source.is_file():
            result[module] = "absent"
        elif not binary.is_file():
            result[module] = "missing"
        elif recorded.get(module) == _sha256(source):
            result[module] = "compiled"
        else:
            result[module] = "stale"
    return result


class _PurePythonFinder:
    """Meta path finder that loads MODULES from their .py files even where a compiled one
    sits beside them (see use_pure_python)."""

    def find_spec(self, name, path=None, target=None):
        key = name if name + ".__init__" not in MODULES else name + ".__init__"
        if key not in MODULES:
            return None
        source = source_of(key)
        if not source.is_file():
            return None
        package = [str(source.parent)] if key.endswith(".__init__") else None
        return importlib.util.spec_from_file_location(name, source, submodule_search_locations=package)


def use_pure_python() -> None:
    """Make this process import the pure-Python modules, compiled or not (for comparisons in
    tests and bench/reports.py --pure). Call it before WeasyPrint is imported."""
    loaded = [name for name in sys.modules if name.split(".")[0] in ("weasyprint", "pydyf", "cssselect2", "tinycss2")]
    if loaded:
        raise RuntimeError(f"use_pure_python() must run before {loaded[0]} is imported")
    if not any(isinstance(finder, _PurePythonFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PurePythonFinder())


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
                compiled += cythonize([extension], language_level=3, quiet=True,
                                      compiler_directives={"binding": True})
            except CompileError:
                print(f"  {extension.name}: Cython no lo compila; queda en Python puro", file=sys.stderr)
        setuptools_setup(name="coopdiag-speedups", ext_modules=compiled,
                         script_args=["-q", "build_ext", "--inplace", "-j", str(jobs)])
    finally:
        os.chdir(cwd)
    return [e.name for e in compiled if (build_root / (e.name.replace(".", "/") + EXTENSION_SUFFIX)).is_file()]


def build(*, jobs: int | None = None, force: bool = False) -> dict[str, str]:
    """Compile every module that is missing or stale (all of them with ``force``)."""
    current = status()
    todo = [m for m, state in current.items() if state in ("missing", "stale") or (force and state != "absent")]
    if not todo:
        return current
    recorded = _read_stamp().get("modules", {})
    for module in todo:  # a stale binary must not shadow its new source, even if the build fails
        binary_of(module).unlink(missing_ok=True)
        recorded.pop(module, None)
    with tempfile.TemporaryDirectory(prefix="coopdiag-speedups-") as folder:
        build_root = Path(folder)
        done = _compile(todo, build_root, jobs or os.cpu_count() or 1)
        for module in done:
            shutil.copyfile(build_root / (module.replace(".", "/") + EXTENSION_SUFFIX), binary_of(module))
            recorded[module] = _sha256(source_of(module))
    _stamp_path().write_text(json.dumps({"python": sys.version.split()[0], "modules": recorded}, indent=1,
                                        sort_keys=True), encoding="utf-8")
    return status()


def _summary(states: dict[str, str]) -> str:
    compiled = sum(state == "compiled" for state in states.values())
    others = [f"{module} ({state})" for module, state in states.items() if state not in ("compiled", "absent")]
    text = f"{compiled} de {len(states)} módulos de WeasyPrint compilados con Cython"
    return text + (": faltan " + ", ".join(others) if others else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.speedups",
                                     description="Compila con Cython los módulos de WeasyPrint que más usa un informe.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="solo revisar; sale con 1 si falta alguno")
    group.add_argument("--remove", action="store_true", help="borrar los módulos compilados")
    parser.add_argument("--force", action="store_true", help="recompilar todos")
    parser.add_argument("--jobs", type=int, default=None, help="compilaciones en paralelo (por omisión, los núcleos)")
    args = parser.parse_args(argv)

    if args.remove:
        print(f"{remove()} módulos compilados borrados; WeasyPrint vuelve a Python puro.")
        return 0
    if args.check:
        states = status()
        print(_summary(states))
        return 0 if all(state in ("compiled", "absent") for state in states.values()) else 1
    try:
        states = build(jobs=args.jobs, force=args.force)
    except ImportError as error:
        print(f"No se pudo compilar: falta {error.name} (pip install '.[speedups]').", file=sys.stderr)
        return 1
    except Exception as error:  # a compiler missing or failing: the reports still work, slower
        print(f"No se pudo compilar ({type(error).__name__}: {error}); los informes funcionan, más lentos.",
              file=sys.stderr)
        return 1
    print(_summary(states))
    return 0 if all(state in ("compiled", "absent") for state in states.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
