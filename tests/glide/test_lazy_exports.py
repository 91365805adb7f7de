"""The lazily exported APIs of ``dermstudy.glide`` and ``dermstudy.generation`` (dermstudy/lazy.py)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = ("dermstudy.glide", "dermstudy.generation")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_to_what_a_submodule_defines(package):
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__) and len(module.__all__) >= 4
    submodules = [
        importlib.import_module(f"{package}.{info.name}")
        for info in pkgutil.iter_modules(module.__path__)
    ]
    for name in module.__all__:
        value = getattr(module, name)
        assert any(getattr(sub, name, None) is value for sub in submodules), name
        assert vars(module)[name] is value  # cached: the next lookup does not call back
    assert set(module.__all__) <= set(dir(module))


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018 - the lookup itself is the test


def test_importing_the_packages_does_not_import_torch():
    code = "import sys, dermstudy.glide, dermstudy.generation; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
