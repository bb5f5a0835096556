"""The registry of compared systems: every system found by name, each coding a clip at a plan's rate points."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks import rd, systems
from benchmarks.baselines.blocks import FrameModel
from benchmarks.baselines.classical import CLASSICAL_SYSTEMS, available_systems
from benchmarks.baselines.registry import RatePoints, System, register
from tests.conftest import moving_square_clip

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_square_clip(frames=4, height=48, width=64)


def test_every_system_is_registered_by_name():
    names = systems.names()
    assert {"nvcodec", "nerv", "hnerv", *CLASSICAL_SYSTEMS} <= set(names)
    for name in names:
        system = systems.get(name)
        assert isinstance(system, System) and system.name == name
    with pytest.raises(KeyError, match="unknown system"):
        systems.get("no-such-codec")


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register(dataclasses.replace(CLASSICAL_SYSTEMS["vp9"]))


def test_frame_models_by_kind():
    assert systems.frame_model("hnerv").model is FrameModel.of_kind("hnerv")
    with pytest.raises(ValueError, match="frame model"):
        systems.frame_model("x264-medium")
    with pytest.raises(ValueError, match="unknown model kind"):
        FrameModel.of_kind("no-such-model")


def test_rd_default_systems():
    quick = rd.default_systems(rd.QUICK)
    assert systems.NEURAL == ("nvcodec", "nerv", "hnerv", "hinerv", "hnerv-boost")
    assert quick[:5] == list(systems.NEURAL)
    assert quick[5:] == [s for s in available_systems() if s in rd.QUICK["classical_systems"]]
    assert rd.default_systems(rd.FULL) == [*systems.NEURAL, *available_systems()]
    assert rd.STANDARD == {**rd.FULL, "nvcodec_preset": "fast"}


def test_classical_rate_points_pick_crfs_evenly(clip):
    system = systems.get("x264-medium")
    run = system.rate_points(clip, 25.0, {"classical_points": 2}, budget=None)
    assert isinstance(run, RatePoints) and run.budget is None and run.settings == {}
    crfs = CLASSICAL_SYSTEMS["x264-medium"].crfs
    assert [c.settings["crf"] for c in run.coded] == [crfs[0], crfs[-1]]
    assert run.version.startswith("x264")


def test_frame_model_rate_points_train_for_the_budget(clip):
    run = systems.get("nerv").rate_points(clip, 25.0, {"baseline_sizes": ("xs",)}, budget=0.2)
    assert [c.settings["size"] for c in run.coded] == ["xs"]
    assert run.coded[0].settings["seconds"] == 0.2 and run.settings["seconds_per_point"] == 0.2
    assert run.version.startswith("benchmarks.baselines.nerv (nvcodec ") and run.budget is None


def test_nvcodec_rate_points_set_the_budget(clip):
    plan = {"nvcodec_widths": (8,), "nvcodec_bits": (8, 6), "nvcodec_preset": "fast", "nvcodec_iters": 6}
    run = systems.get("nvcodec").rate_points(clip, 25.0, plan, budget=None)
    assert [c.settings["bits"] for c in run.coded] == [8, 6]
    assert run.budget == pytest.approx(run.coded[0].extra["fit_seconds"])
    assert run.settings == {"plan": plan} and run.version.startswith("nvcodec ")
    assert run.coded[0].decoded.shape == (4, 48, 64, 3) and run.coded[0].decoded.dtype == np.uint8
