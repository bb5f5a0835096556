"""Encoding on a small local Ray cluster: the same bytes as a serial encode, lost workers, failed inputs.

One cluster (``ray.init(num_cpus=2)``, about ten seconds to start) serves the module.
"""

import contextlib
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from nvcodec import Config, QuantConfig, encode
from nvcodec.distributed import Listeners, VideoRequest, encode_videos
from nvcodec.io import write_video
from nvcodec.options import EncodeOptions
from nvcodec.sample import sample_clip
from nvcodec.source import SourceSpec
from tests.conftest import TINY, moving_square_clip

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = [pytest.mark.ray, pytest.mark.slow]

QUANT = QuantConfig(intra_period=2)


def config(iters: int = 30) -> Config:
    return Config.preset("fast", **TINY, iters=iters, iters_warm=iters // 2, group_size=2, device="cpu")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "clip.y4m"
    write_video(path, moving_square_clip(frames=9, height=32, width=40), fps=10)
    return path


def serial(source, path, iters=30):
    """The serial encode, on one torch thread like each Ray worker: on CPU the bytes follow the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        encode(
            SourceSpec(str(source)).open(), path, config(iters), QUANT, fps=10, options=EncodeOptions(segment_groups=2)
        )
    finally:
        torch.set_num_threads(threads)
    return path.read_bytes()


def test_two_segments_on_the_cluster_give_the_serial_bytes(cluster, source, tmp_path):
    expected = serial(source, tmp_path / "serial.actv")
    written = []
    outcomes = encode_videos(
        [VideoRequest(SourceSpec(str(source)), tmp_path / "ray.actv")],
        config(),
        QUANT,
        options=EncodeOptions(segment_groups=2),
        listeners=Listeners(on_segment=lambda output, done, total: written.append((done, total))),
    )
    assert outcomes[0].error is None and outcomes[0].stats is not None
    assert (tmp_path / "ray.actv").read_bytes() == expected
    assert written == [(1, 2), (2, 2)]


def test_a_video_with_a_scene_cut_gives_the_serial_bytes(cluster, tmp_path):
    clip = np.concatenate([moving_square_clip(frames=5, height=32, width=40), sample_clip(4, 32, 40)])
    path = tmp_path / "cut.y4m"
    write_video(path, clip, fps=10)
    expected = serial(path, tmp_path / "serial.actv")
    request = VideoRequest(SourceSpec(str(path)), tmp_path / "ray.actv")
    outcomes = encode_videos([request], config(), QUANT, options=EncodeOptions(segment_groups=2))
    stats = outcomes[0].stats
    assert outcomes[0].error is None and stats is not None
    assert stats.cuts == [5] and stats.groups == 5  # shots 0-5 and 5-8, each in groups of about 2 frames
    assert (tmp_path / "ray.actv").read_bytes() == expected


def _segment_workers() -> list[int]:
    """Processes running a segment task: Ray names a worker after the task it runs (``ray::_remote_segment``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _runs_a_segment(int(entry.name)):
            found.append(int(entry.name))
    return found


def _runs_a_segment(pid: int) -> bool:
    try:
        return b"_remote_segment" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def _kill_a_segment_task(killed: list[int], stop: threading.Event) -> None:
    """Kill (SIGKILL) the first worker process caught running a segment: a lost machine.

    Ray names a worker after its task only while the task runs (``ray::IDLE`` otherwise). The worker
    is frozen (SIGSTOP) before its name is read again, so the task it is caught in is the one it
    dies in; one that has just finished is let go, and the search goes on until the encode ends.
    """
    while not killed and not stop.wait(0.02):
        for pid in _segment_workers():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            if _runs_a_segment(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_a_lost_worker_is_retried_and_the_file_is_unchanged(cluster, source, tmp_path):
    expected = serial(source, tmp_path / "serial.actv", iters=300)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_a_segment_task, args=(killed, stop))
    killer.start()
    try:
        outcomes = encode_videos(
            [VideoRequest(SourceSpec(str(source)), tmp_path / "ray.actv")],
            config(300),
            QUANT,
            options=EncodeOptions(segment_groups=2),
        )
    finally:
        stop.set()
        killer.join()
    assert killed, "no segment task was seen running"
    assert outcomes[0].error is None, "the task lost with its worker ran again"
    assert (tmp_path / "ray.actv").read_bytes() == expected


def test_a_bad_input_fails_alone(cluster, source, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00 not a video" * 40)
    frames = moving_square_clip(frames=5, height=32, width=40)
    frames[3, 0, 0, 0] = np.nan  # only a worker that reads frame 3 finds out
    requests = [
        VideoRequest(SourceSpec(str(source)), tmp_path / "good.actv"),
        VideoRequest(SourceSpec(str(bad)), tmp_path / "bad.actv"),
        VideoRequest(frames, tmp_path / "nan.actv", fps=10),
    ]
    outcomes = encode_videos(requests, config(), QUANT, options=EncodeOptions(segment_groups=2))
    assert outcomes[0].stats is not None and (tmp_path / "good.actv").exists()
    assert "cannot open" in outcomes[1].error and not (tmp_path / "bad.actv").exists()
    assert "NaN" in outcomes[2].error and not (tmp_path / "nan.actv").exists()
    assert not list(tmp_path.glob(".*.part"))


def test_a_killed_driver_resumes_from_finished_segments(cluster, source, tmp_path):
    expected = serial(source, tmp_path / "serial.actv")
    folder = tmp_path / "ray.actv.partial"
    request = VideoRequest(SourceSpec(str(source)), tmp_path / "ray.actv", resume_folder=folder)

    def stop_after_first(output, done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        encode_videos(
            [request],
            config(),
            QUANT,
            options=EncodeOptions(segment_groups=2),
            listeners=Listeners(on_segment=stop_after_first),
        )
    assert not (tmp_path / "ray.actv").exists() and len(list(folder.glob("group-*"))) >= 2
    outcomes = encode_videos([request], config(), QUANT, options=EncodeOptions(segment_groups=2))
    assert outcomes[0].stats is not None and outcomes[0].stats.resumed_groups >= 2
    assert (tmp_path / "ray.actv").read_bytes() == expected and not folder.exists()
