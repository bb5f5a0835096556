"""device: which device a name means, and the precision modes that only apply on CUDA."""

from __future__ import annotations

import pytest
import torch

from nvcodec.device import autocast, matmul_precision, resolve_device
from nvcodec.errors import DeviceError


def test_auto_is_cuda_when_present_else_cpu():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu") == resolve_device(torch.device("cpu"))


@pytest.mark.parametrize("name", ["gpu0", "mps", "meta"])
def test_a_name_that_is_no_supported_device_is_a_device_error(name):
    with pytest.raises(DeviceError, match="auto, cpu, cuda or cuda:N"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda:0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_gpu_index_past_the_last_is_a_device_error():
    with pytest.raises(DeviceError, match="does not exist"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_precision_modes_leave_the_cpu_alone():
    before = torch.get_float32_matmul_precision()
    with matmul_precision(torch.device("cpu"), "tf32"):
        assert torch.get_float32_matmul_precision() == before
    with autocast(torch.device("cpu"), "bf16"):
        assert not torch.is_autocast_enabled()


@pytest.fixture
def no_cuda(monkeypatch):
    """This process as a machine without CUDA sees it, whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    """This process as a machine with two CUDA GPUs sees it (only names are resolved: nothing runs on them)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_the_default_and_follows_cuda(no_cuda, monkeypatch):
    assert resolve_device() == resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device() == resolve_device("auto") == torch.device("cuda")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1", torch.device("cuda")])
def test_any_cuda_request_without_cuda_is_a_device_error_naming_it(no_cuda, name):
    with pytest.raises(DeviceError, match=f"'{name}' was requested but this machine has no CUDA GPU"):
        resolve_device(name)


def test_a_cuda_index_is_checked_against_the_gpus_present(two_gpus):
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1) == resolve_device(torch.device("cuda", 1))
    with pytest.raises(DeviceError, match=r"'cuda:2' does not exist: 2 CUDA GPU\(s\) present"):
        resolve_device("cuda:2")


def test_a_device_error_is_an_actv_error_without_torchs_traceback():
    from nvcodec.errors import ActvError

    with pytest.raises(ActvError) as info:
        resolve_device("gpu0")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "unknown device 'gpu0'" in str(info.value)


@pytest.fixture
def highest_precision():
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("mode", ["tf32", "bf16"])
def test_tf32_on_cuda_for_the_block_only_restored_on_error(highest_precision, mode):
    """The setting is process-wide; on a CUDA device (an object: no GPU needed to set it) it lasts the block."""
    cuda = torch.device("cuda")
    with matmul_precision(cuda, mode):
        assert torch.get_float32_matmul_precision() == "high"
    assert torch.get_float32_matmul_precision() == "highest"
    with pytest.raises(RuntimeError, match="inside"), matmul_precision(cuda, mode):
        raise RuntimeError("inside")
    assert torch.get_float32_matmul_precision() == "highest"


def test_fp32_mode_keeps_full_precision_on_cuda(highest_precision):
    with matmul_precision(torch.device("cuda"), "fp32"):
        assert torch.get_float32_matmul_precision() == "highest"


def test_autocast_is_bf16_on_cuda_in_bf16_mode_only():
    import contextlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without CUDA, torch warns that this autocast would be disabled
        region = autocast(torch.device("cuda"), "bf16")
    assert isinstance(region, torch.autocast) and region.fast_dtype == torch.bfloat16 and region.device == "cuda"
    for device, mode in [("cuda", "tf32"), ("cuda", "fp32"), ("cpu", "bf16"), ("cpu", "fp32")]:
        assert isinstance(autocast(torch.device(device), mode), contextlib.nullcontext)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_autocast_computes_matmuls_in_bf16_on_cuda():
    cuda = resolve_device("cuda")
    a = torch.randn(8, 8, device=cuda)
    with autocast(cuda, "bf16"):
        assert (a @ a).dtype == torch.bfloat16
    assert (a @ a).dtype == torch.float32
