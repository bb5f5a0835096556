"""encode(): the statistics it reports, resuming a killed encode, the bpp target, and what it refuses."""

import dataclasses

import numpy as np
import pytest

from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.errors import ArgumentError
from nvcodec.metrics import psnr
from nvcodec.options import EncodeOptions
from tests.conftest import TINY, moving_square_clip

CONFIG = Config.preset("fast", **TINY, iters=40, iters_warm=20, group_size=2, device="cpu")
QUANT = QuantConfig(intra_period=2, qat_iters=5)


@pytest.fixture(scope="module")
def clip():
    return moving_square_clip(frames=7, height=40, width=56)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("ref") / "ref.actv"
    return path, encode(clip, path, CONFIG, QUANT, fps=12)


@pytest.fixture(scope="module")
def reference(encoded):
    return encoded[0].read_bytes()


@pytest.mark.slow  # cheap itself, but the only quick test that would need the reference encode
def test_encode_reports_real_sizes(encoded, clip):
    path, stats = encoded
    assert stats.file_bytes == path.stat().st_size
    assert stats.bpp == pytest.approx(8 * stats.file_bytes / clip[..., 0].size)
    assert stats.groups == 3 and len(stats.fit_psnr) == 3
    assert stats.coded_bits <= 1.02 * stats.entropy_bits + 64


class Killed(Exception):
    pass


@pytest.mark.slow
def test_a_killed_encode_resumes_to_the_same_bytes(tmp_path, clip, reference):
    target, folder = tmp_path / "out.actv", tmp_path / "out.actv.partial"

    def kill_after_second_group(group):
        if group.index == 1:
            raise Killed

    with pytest.raises(Killed):
        encode(
            clip,
            target,
            CONFIG,
            QUANT,
            fps=12,
            options=EncodeOptions(resume_folder=folder, on_group=kill_after_second_group),
        )
    assert not target.exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "group-000000.msgpack",
        "group-000001.msgpack",
        "journal.msgpack",
    ]

    seen = []
    stats = encode(
        clip, target, CONFIG, QUANT, fps=12, options=EncodeOptions(resume_folder=folder, on_group=seen.append)
    )
    assert stats.resumed_groups == 2
    assert [g.resumed for g in seen] == [True, True, False]
    assert target.read_bytes() == reference
    assert not folder.exists(), "the resume folder is removed once the file is written"


@pytest.mark.slow
def test_a_torn_group_record_is_fitted_again(tmp_path, clip, reference):
    target, folder = tmp_path / "out.actv", tmp_path / "resume"

    def kill(group):
        if group.index == 1:
            raise Killed

    with pytest.raises(Killed):
        encode(clip, target, CONFIG, QUANT, fps=12, options=EncodeOptions(resume_folder=folder, on_group=kill))
    record = folder / "group-000001.msgpack"
    record.write_bytes(record.read_bytes()[:-7])
    stats = encode(clip, target, CONFIG, QUANT, fps=12, options=EncodeOptions(resume_folder=folder))
    assert stats.resumed_groups == 1
    assert target.read_bytes() == reference


def test_a_resume_folder_of_another_encode_is_refused(tmp_path, clip):
    folder = tmp_path / "resume"

    def kill(group):
        raise Killed

    with pytest.raises(Killed):
        encode(
            clip, tmp_path / "a.actv", CONFIG, QUANT, fps=12, options=EncodeOptions(resume_folder=folder, on_group=kill)
        )
    other = QuantConfig(intra_period=2, bits_frame=6)
    with pytest.raises(ArgumentError, match="different input or different settings"):
        encode(clip, tmp_path / "a.actv", CONFIG, other, fps=12, options=EncodeOptions(resume_folder=folder))
    with pytest.raises(ArgumentError, match="different input"):
        encode(
            clip[:, ::-1].copy(),
            tmp_path / "a.actv",
            CONFIG,
            QUANT,
            fps=12,
            options=EncodeOptions(resume_folder=folder),
        )
    # Fit settings are not in the header, but a group fitted longer has other weights: no mixing of the two.
    longer = dataclasses.replace(CONFIG, fit=dataclasses.replace(CONFIG.fit, iters=CONFIG.fit.iters + 1))
    with pytest.raises(ArgumentError, match="different settings"):
        encode(clip, tmp_path / "a.actv", longer, QUANT, fps=12, options=EncodeOptions(resume_folder=folder))


@pytest.mark.slow
def test_max_bpp_keeps_the_file_under_target(tmp_path, clip, reference):
    full_bpp = 8 * len(reference) / clip[..., 0].size
    target = 0.85 * full_bpp
    stats = encode(clip, tmp_path / "small.actv", CONFIG, QUANT, fps=12, options=EncodeOptions(max_bpp=target))
    assert stats.bpp <= target
    assert min(stats.group_bits) < 8
    with VideoReader(tmp_path / "small.actv") as reader:
        assert psnr(reader[:].astype("float32") / 255, clip) > 15
    roomy = encode(clip, tmp_path / "roomy.actv", CONFIG, QUANT, fps=12, options=EncodeOptions(max_bpp=2 * full_bpp))
    assert roomy.group_bits == [8, 8, 8]
    assert roomy.path.read_bytes() == reference


@pytest.mark.slow
def test_a_rate_target_moves_lambda_and_a_resumed_encode_moves_it_alike(tmp_path, clip):
    """With rate in the loss, ``max_bpp`` sets each group's lambda from the budget; the lambdas are saved with
    the groups, so a resumed encode continues with the same ones and writes the same bytes."""
    free = encode(clip, tmp_path / "free.actv", CONFIG, QUANT, fps=12, options=EncodeOptions(quality=30))
    target = 0.6 * free.bpp
    options = EncodeOptions(quality=30, max_bpp=target)
    whole = encode(clip, tmp_path / "whole.actv", CONFIG, QUANT, fps=12, options=options)
    assert whole.bpp <= target

    folder, seen = tmp_path / "out.actv.partial", []

    def kill_after_first_group(group):
        seen.append(group)
        if group.index == 0:
            raise Killed

    with pytest.raises(Killed):
        encode(clip, tmp_path / "out.actv", CONFIG, QUANT, fps=12,
               options=dataclasses.replace(options, resume_folder=folder, on_group=kill_after_first_group))  # fmt: skip
    resumed = encode(clip, tmp_path / "out.actv", CONFIG, QUANT, fps=12,
                     options=dataclasses.replace(options, resume_folder=folder))  # fmt: skip
    assert resumed.resumed_groups == 1
    assert (tmp_path / "out.actv").read_bytes() == (tmp_path / "whole.actv").read_bytes()


def test_interrupted_encode_leaves_existing_output_untouched(tmp_path, clip):
    target = tmp_path / "out.actv"
    target.write_bytes(b"precious")
    config = Config.preset("fast", **TINY, iters=2, iters_warm=2, group_size=2, device="cpu")

    def interrupt(group):
        if group.index == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encode(clip, target, config, fps=12, options=EncodeOptions(on_group=interrupt))
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.actv"]


def test_bad_encode_arguments(tmp_path, clip):
    config = Config.preset("fast", **TINY, iters=1, iters_warm=1, group_size=2, device="cpu")
    for fps in (0.0, -1, float("nan"), 1e-4, 3e9):
        with pytest.raises(ArgumentError):
            encode(clip, tmp_path / "x.actv", config, fps=fps)
    assert list(tmp_path.iterdir()) == []


COMPILED_RUN = """
import sys
from pathlib import Path
from nvcodec import Config, EncodeOptions, QuantConfig, encode
from tests.conftest import TINY, moving_square_clip
out, stop_after, quality = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) or None
# 8 frames in groups of 3, 4 and 3 frames: a group whose shapes differ from the group before it.
config = Config.preset("fast", **{**TINY, "compile": True}, iters=30, iters_warm=20, group_size=3, device="cpu")
def stop(group):
    if group.index == stop_after and not group.resumed:
        raise KeyboardInterrupt
try:
    encode(moving_square_clip(frames=8, height=32, width=40), out, config, QuantConfig(), fps=10,
           options=EncodeOptions(quality=quality, resume_folder=Path(str(out) + ".partial"), on_group=stop))
except KeyboardInterrupt:
    pass
"""


@pytest.mark.slow
@pytest.mark.parametrize("quality", [0.0, 25.0], ids=["fixed-depth", "rate-phase"])
def test_a_compiled_encode_resumed_in_a_new_process_gives_the_same_bytes(tmp_path, quality):
    """The default (compiled) path: the resumed process compiles afresh and must fit the same weights,
    through the compiled rate-aware phase too (``quality``; 0: the fixed-depth path)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def run(out: Path, stop_after: int) -> None:
        command = [sys.executable, "-c", COMPILED_RUN, str(out), str(stop_after), str(quality)]
        subprocess.run(command, check=True, cwd=root)

    whole, resumed = tmp_path / "whole.actv", tmp_path / "resumed.actv"
    run(whole, -1)
    run(resumed, 0)  # killed after the first group
    assert not resumed.exists() and (tmp_path / "resumed.actv.partial").exists()
    run(resumed, -1)  # a new process resumes it
    assert resumed.read_bytes() == whole.read_bytes()


@pytest.mark.slow
def test_compiled_and_eager_rate_phases_agree(tmp_path):
    """The rate-aware phase runs the network through the fit's compiled loss, its stand-ins as graph inputs:
    the same encode as in eager mode within float tolerance, and the same bytes run to run."""
    clip = moving_square_clip(frames=7, height=32, width=40)
    config = Config.preset("fast", **TINY, iters=60, iters_warm=40, group_size=3, device="cpu")
    options = EncodeOptions(quality=25.0)
    sizes, scores = {}, {}
    for name, compiled in (("eager", False), ("compiled", True), ("again", True)):
        fit = dataclasses.replace(config.fit, compile=compiled)
        path = tmp_path / f"{name}.actv"
        sizes[name] = encode(clip, path, dataclasses.replace(config, fit=fit), QuantConfig(), fps=10, options=options)
        with VideoReader(path) as reader:
            scores[name] = psnr(np.stack([reader.frame(t) for t in range(7)]), clip)
    assert (tmp_path / "compiled.actv").read_bytes() == (tmp_path / "again.actv").read_bytes()
    assert abs(scores["compiled"] - scores["eager"]) < 0.3
    assert abs(sizes["compiled"].file_bytes / sizes["eager"].file_bytes - 1) < 0.05


@pytest.mark.parametrize(
    ("quality", "width", "patch", "group_size"),
    [(15.0, 48, 176, 30), (25.0, 64, 176, 15), (30.0, 96, 176, 15), (36.0, 64, 96, 15)],
)
def test_without_a_config_the_quality_picks_width_patches_and_group_length(
    monkeypatch, tmp_path, clip, quality, width, patch, group_size
):
    """As ``actv-encode --quality`` does, before the trial fit (kept out here); the fit itself is not run."""
    config, _ = _picked_config(monkeypatch, tmp_path, clip, quality=quality, trial=lambda config: config.model.hidden)
    assert (config.model.hidden, config.model.patch, config.fit.group_size) == (width, patch, group_size)
    assert not (tmp_path / "x.actv").exists()


def _picked_config(monkeypatch, tmp_path, clip, trial, **options) -> tuple[Config, list[float]]:
    """The config ``encode(clip, **options)`` fits with, and the lambdas of the trial fits run;
    ``trial(config)`` stands in for the trial fit's width."""
    import nvcodec.encoder as encoder_module
    import nvcodec.recipe.quality as quality_module
    from nvcodec.recipe.trials import WidthChoice

    class Picked(Exception):
        pass

    def capture(frames, config, mask=None):
        raise Picked(config)

    tried = []

    def trial_fit(frames, config, lambda_, known_mse=None):
        tried.append(lambda_)
        return WidthChoice(trial(config), config.model.hidden, 1.0)

    monkeypatch.setattr(encoder_module, "VideoFitter", capture)
    monkeypatch.setattr(quality_module, "width_for_content", trial_fit)
    with pytest.raises(Picked) as picked:
        config = options.pop("config", None)
        mask = options.pop("mask", None)
        encode(clip, tmp_path / "x.actv", config, mask=mask, options=EncodeOptions(**options))
    return picked.value.args[0], tried


def test_without_a_config_the_trial_fit_may_widen_the_model_but_not_with_a_mask(monkeypatch, tmp_path, clip):
    widen = lambda config: config.model.hidden + 12  # noqa: E731
    config, tried = _picked_config(monkeypatch, tmp_path, clip, widen, quality=36.0)
    assert config.model.hidden == 76 and tried == [pytest.approx(10**-3.6)]
    mask = np.ones(clip.shape[1:3], bool)
    config, tried = _picked_config(monkeypatch, tmp_path, clip, widen, quality=36.0, mask=mask)
    assert config.model.hidden == 64 and tried == []
    config, tried = _picked_config(monkeypatch, tmp_path, clip, widen, config=CONFIG, quality=36.0)
    assert config.model.hidden == CONFIG.model.hidden and tried == []
