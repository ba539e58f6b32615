"""Hatch build hook: compiles captionset's C extensions (``EXTENSIONS``) into the wheel.

The extensions only make things faster (the Python modules keep the same computations in pure Python),
so a build without a working C compiler still succeeds: it warns and ships a pure-Python wheel. ``CAPTIONSET_PURE_PYTHON=1`` skips compiling. An editable install
(``pip install -e .``) compiles in place, next to the C file; rerun it after changing the C file.

``python hatch_build.py`` compiles in place too, without pip (for working on the C file).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script without hatchling installed: only compile_extension is used
    if __name__ != "__main__":
        raise
    BuildHookInterface = object  # type: ignore[assignment,misc]

#: Each extension's import name and its C source, relative to the project root.
EXTENSIONS = {
    "captionset.classify._speedups": "captionset/classify/_speedups.c",
    "captionset._build_speedups": "captionset/_build_speedups.c",
    "captionset._align_speedups": "captionset/_align_speedups.c",
}


def pure_python_requested() -> bool:
    """Does the environment ask for no compiled code (the same switch as at run time)?"""
    return os.environ.get("CAPTIONSET_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no")


def compile_extension(root: Path, build_dir: Path, module: str, source: str) -> Path:
    """Compile one extension with setuptools' build_ext (which knows each platform's compiler and flags)
    into build_dir; returns the built file. Raises on any failure."""
    from setuptools import Distribution, Extension

    # -ffp-contract=off: no fused multiply-add, so every feature is the value numpy computes.
    flags = [] if os.name == "nt" else ["-O2", "-ffp-contract=off", "-Wall"]
    extension = Extension(module, sources=[source], extra_compile_args=flags)
    distribution = Distribution({"name": "captionset", "ext_modules": [extension]})
    command = distribution.get_command_obj("build_ext")
    command.build_lib = str(build_dir / "lib")
    command.build_temp = str(build_dir / "temp")
    command.inplace = False
    previous = Path.cwd()
    os.chdir(root)  # build_ext resolves the source relative to the working directory
    try:
        command.ensure_finalized()
        command.run()
        built = Path(command.get_ext_fullpath(module))
    finally:
        os.chdir(previous)
    return built if built.is_absolute() else root / built


def install_in_place(built: Path, destination: Path) -> None:
    """Put the built extension at destination through a rename: a process that has the old one loaded
    keeps its (unchanged) file, where copying over it could crash that process."""
    partial = destination.with_name(destination.name + ".partial")
    shutil.copy2(built, partial)
    os.replace(partial, destination)


class SpeedupsBuildHook(BuildHookInterface):
    """Builds the extension for wheels (into the wheel) and editable installs (in place)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if pure_python_requested():
            self.app.display_warning("CAPTIONSET_PURE_PYTHON is set: building without the C extension")
            return
        root = Path(self.root)
        self._build_dir = Path(tempfile.mkdtemp(prefix="captionset-build-"))
        for module, source in EXTENSIONS.items():
            try:
                built = compile_extension(root, self._build_dir / module, module, source)
            except Exception as error:  # any failure (no compiler, a compile error): that module stays Python
                self.app.display_warning(
                    f"captionset: could not compile {source} ({type(error).__name__}: {error}); "
                    "installing without it (the pure-Python code gives the same results, slower)"
                )
                continue
            target = f"{Path(source).parent.as_posix()}/{built.name}"
            if version == "editable":
                # The editable wheel points at the source tree: the extension goes next to its source.
                install_in_place(built, root / target)
            else:
                build_data["force_include"][str(built)] = target
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        build_dir = getattr(self, "_build_dir", None)
        if build_dir is not None:
            shutil.rmtree(build_dir, ignore_errors=True)


if __name__ == "__main__":
    project = Path(__file__).resolve().parent
    wanted = sys.argv[1:] or list(EXTENSIONS)  # python hatch_build.py [MODULE ...]
    with tempfile.TemporaryDirectory() as scratch:
        for module in wanted:
            source = EXTENSIONS[module]
            result = compile_extension(project, Path(scratch) / module, module, source)
            destination = project / Path(source).parent / result.name
            install_in_place(result, destination)
            print(f"built {destination}", file=sys.stderr)
