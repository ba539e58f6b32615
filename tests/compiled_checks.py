"""Checks shared by the tests of the C extensions: the CI flag, the installed wheel's extension, and the
pure-Python switch seen from a fresh interpreter."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

#: CI runs the tests against the installed wheel, which must carry every extension.
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def assert_wheel_extension(module: ModuleType | None, name: str) -> None:
    """The loaded extension ``module`` is the file ``name``.<suffix> the installed captionset wheel holds."""
    assert module is not None, f"the compiled {name} is not in use"
    installed = [f for f in importlib.metadata.files("captionset") or [] if f.name.startswith(f"{name}.")]
    assert installed, f"the installed captionset wheel carries no compiled {name}"
    loaded = Path(module.__file__).resolve()
    assert loaded == Path(installed[0].locate()).resolve()
    assert loaded.name == name + sysconfig.get_config_var("EXT_SUFFIX")


def pure_python_output(code: str) -> str:
    """What ``code`` prints in a fresh interpreter run with CAPTIONSET_PURE_PYTHON=1."""
    env = dict(os.environ, CAPTIONSET_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()
