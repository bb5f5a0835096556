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
