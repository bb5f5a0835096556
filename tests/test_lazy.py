"""``import nvcodec`` loads nothing heavy; names load their module on first use (PEP 562)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nvcodec
from nvcodec.lazy import lazy_exports


def run_python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_the_package_does_not_load_torch():
    run_python("import nvcodec, sys; assert 'torch' not in sys.modules, 'torch was imported'")
    run_python(
        "import nvcodec.model, nvcodec.quant, sys; "
        "assert nvcodec.__version__; assert 'torch' not in sys.modules, 'torch was imported'"
    )


def test_a_lazy_name_loads_its_module_on_first_use():
    run_python(
        "import nvcodec, sys; "
        "assert 'nvcodec.config' not in sys.modules; "
        "config = nvcodec.Config; "
        "assert 'nvcodec.config' in sys.modules and 'torch' not in sys.modules"
    )


@pytest.mark.parametrize("name", nvcodec.__all__)
def test_every_public_name_resolves(name):
    assert getattr(nvcodec, name) is not None


def test_public_names_are_the_modules_own_objects():
    from nvcodec import config, encoder, errors, model, reader
    from nvcodec.model.group import GroupModel

    assert nvcodec.Config is config.Config and nvcodec.encode is encoder.encode
    assert nvcodec.FormatError is errors.FormatError and nvcodec.VideoReader is reader.VideoReader
    assert model.GroupModel is GroupModel


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="'nvcodec' has no attribute 'no_such_name'"):
        _ = nvcodec.no_such_name
    getter = lazy_exports("pkg", {"dumps": "json"})
    import json

    assert getter("dumps") is json.dumps
    with pytest.raises(AttributeError, match="'pkg' has no attribute 'loads'"):
        getter("loads")
    assert not hasattr(nvcodec, "no_such_name")
