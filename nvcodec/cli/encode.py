"""``actv-encode``: fit a video and store it as ``.actv``.

    actv-encode clip.mp4 -o clip.actv
    actv-encode frames/ -o clip.actv --preset fast --quality 20 --max-bpp 0.3
    ffmpeg -i in.mov -f yuv4mpegpipe - | actv-encode - -o clip.actv
    actv-encode --sample -o sample.actv          # a built-in clip, no input needed

Restoration comes from fitting only what is there: with ``--mask`` the black
pixels of the mask are unknown and the decode fills them in (inpainting); a
noisy input decodes denoised, because a small network at this size cannot
fit noise. The summary's "PSNR vs input" shows what happened: against a noisy
input it stays low (the noise was not kept).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from nvcodec.atomic import remove_stale_temporaries
from nvcodec.cli.common import (
    Parser,
    UsageError,
    add_threads_option,
    apply_threads,
    check_output,
    device_name,
    finite_float,
    info,
    interruption,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    progress_enabled,
    run,
)
from nvcodec.cli.input_config import config_for_video
from nvcodec.cli.jobs import (
    PROG,
    RESUME_SUFFIX,
    Job,
    decoded_psnr,
    is_complete,
    jobs_of,
    open_input,
    open_mask,
    summary,
    writes_to_folder,
)
from nvcodec.cli.request import EncodeRequest, FrameRange
from nvcodec.config import MAX_BITS, MIN_BITS, PRESETS, Config, FitConfig, ModelConfig, QuantConfig
from nvcodec.device import resolve_device
from nvcodec.distributed import Cluster
from nvcodec.encoder import GroupCoded, encode
from nvcodec.errors import ActvError, OutputError
from nvcodec.fit import FitProgress
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import DEFAULT_QUALITY, RateTrade, quality_for_bpp
from nvcodec.recipe.shape import (
    FIT_LENGTH_STEPS,
    GRID_STEPS,
    GROUP_STEPS,
    LONGEST_FIT,
    PATCH_STEPS,
    SHORTEST_GROUP,
    SMALL_PATCH,
    WIDEST,
    WIDTH_STEPS,
    Given,
    overlap_for,
    shaped_for_quality,
)
from nvcodec.source import FrameSource
from nvcodec.threads import install_share
from nvcodec.version import __version__


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Fit a video with ActINR and store it as an .actv file.",
        epilog="Exit status: 0 done, 1 error, 2 bad option, 130 interrupted.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="video files or folders of PNG frames (several go to an output folder), or - for y4m on stdin",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="the .actv file to write; with several inputs (or a name ending in /) a folder for one .actv each",
    )
    parser.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue an interrupted encode from OUTPUT{RESUME_SUFFIX} (same input and options) instead of starting over",
    )
    parser.add_argument("--sample", action="store_true", help="encode a built-in 30-frame clip (no input needed)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    quality = parser.add_argument_group("quality and rate")
    quality.add_argument(
        "--preset", choices=sorted(PRESETS), default="medium", help="encode time vs quality (default medium)"
    )
    quality.add_argument(
        "--quality",
        type=finite_float,
        help=f"the quality knob, like a CRF but higher is better: each group is trained for MSE + lambda * bpp with "
        f"lambda = 10^(-Q/10); 15-35 is useful, +10 makes lambda 10x smaller (default {DEFAULT_QUALITY:g})",
    )
    quality.add_argument(
        "--lambda",
        dest="lambda_",
        type=positive_float,
        help="set lambda (MSE per bit per pixel) directly instead of --quality",
    )
    quality.add_argument(
        "--bits",
        type=bit_depth,
        help="code at this many bits per parameter instead of training for rate (the encoder before --quality); "
        "with --quality, the depth learned steps start from (default 8)",
    )
    quality.add_argument(
        "--max-bpp",
        type=positive_float,
        help="rate target in bits per pixel for the whole file: with rate in the loss, lambda follows the "
        "budget group by group (alone, it picks the starting quality too); groups that still overrun it are "
        "coded coarser",
    )
    quality.add_argument(
        "--qat-iters", type=non_negative_int, help="quantization-aware fine-tuning steps per group (default: none)"
    )

    frames = parser.add_argument_group("frames")
    frames.add_argument("--start", type=non_negative_int, default=0, help="first frame to encode (default 0)")
    frames.add_argument("--frames", type=positive_int, help="how many frames to encode (default: all)")
    frames.add_argument("--stride", type=positive_int, default=1, help="take every Nth frame (default 1)")
    frames.add_argument("--fps", type=positive_float, help="frame rate to store (default: the input's, or 25)")

    model = parser.add_argument_group("model and fit")
    model.add_argument(
        "--patch",
        type=positive_int,
        help="side of a patch in pixels, each with a network of its own (default: chosen by --quality, "
        + ", ".join(f"{side} below {below:g}" for below, side in PATCH_STEPS)
        + f", else {SMALL_PATCH}; clipped to the frame)",
    )
    model.add_argument(
        "--hidden",
        type=positive_int,
        help="width of each patch's network (default: chosen by --quality with the patch side, "
        + ", ".join(f"{width} below {below:g}" for below, width in WIDTH_STEPS)
        + f", else {WIDEST}; one step wider where short trial fits find that it pays on this video, without --mask; "
        f"{ModelConfig().hidden} with --bits alone)",
    )
    model.add_argument(
        "--grid-levels",
        type=non_negative_int,
        help="latent grid levels per patch, fed to each patch's network beside its coordinates and coded "
        "under a context model (default: chosen by --quality, "
        + ", ".join(f"{levels} below {below:g}" for below, levels in GRID_STEPS)
        + f", else none, and dropped where a trial fit finds they do not pay; {ModelConfig().grid_levels} "
        "with --bits alone)",
    )
    model.add_argument(
        "--grid-cell",
        type=positive_int,
        help=f"pixels between the finest latent grid's points (default {ModelConfig().grid_cell}; "
        "each next level doubles it)",
    )
    model.add_argument(
        "--group-size",
        type=positive_int,
        help="frames per group (default: chosen by --quality, "
        + ", ".join(f"{frames} below {below:g}" for below, frames in GROUP_STEPS)
        + f", else {SHORTEST_GROUP}, with the fit steps scaled to keep them per frame; "
        + f"{FitConfig().group_size} with --bits alone)",
    )
    model.add_argument(
        "--no-scene-cuts",
        dest="scene_cuts",
        action="store_false",
        help="keep groups evenly spaced instead of starting one at every scene cut",
    )
    by_quality = (
        "the preset's, times a factor chosen by --quality: "
        + ", ".join(f"{factor:g} below {below:g}" for below, factor in FIT_LENGTH_STEPS)
        + f", else {LONGEST_FIT:g}"
    )
    model.add_argument("--iters", type=positive_int, help=f"fit iterations of the first group (default: {by_quality})")
    model.add_argument(
        "--iters-warm",
        type=positive_int,
        help=f"fit iterations of the later, warm-started groups (default: {by_quality})",
    )
    model.add_argument("--seed", type=non_negative_int, help="random seed (default 0)")
    add_threads_option(model)
    model.add_argument(
        "--device", type=device_name, default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N"
    )
    model.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        default=None,
        help="fit in eager mode: torch.compile costs 10-25 s up front and makes each step about 1.7x faster",
    )

    scale = parser.add_argument_group("scale out (Ray)")
    scale.add_argument(
        "--workers", type=positive_int, help="encode closed segments in parallel on a local Ray cluster of N CPUs"
    )
    scale.add_argument("--ray-address", help="join an existing Ray cluster instead (auto, or host:port)")
    scale.add_argument(
        "--gpus-per-task", type=non_negative_float, default=0.0, help="GPUs per segment task, fractions allowed"
    )
    scale.add_argument(
        "--segment-groups",
        type=positive_int,
        help="groups per closed segment, the unit of parallel work (default with Ray: the intra period, 4)",
    )

    restore = parser.add_argument_group("restoration")
    restore.add_argument(
        "--mask",
        type=Path,
        help="an image or video, same size as the input, whose black pixels are unknown: the decode inpaints them",
    )
    return parser


def bit_depth(text: str) -> int:
    value = positive_int(text)
    if not MIN_BITS <= value <= MAX_BITS:
        raise argparse.ArgumentTypeError(f"expected {MIN_BITS} to {MAX_BITS} bits, got {value}")
    return value


def request_from_args(args: argparse.Namespace) -> EncodeRequest:
    """The one place the parsed options become values (:class:`~nvcodec.cli.request.EncodeRequest`)."""
    given = Given(
        width=args.hidden is not None,
        patch=args.patch is not None,
        group_length=args.group_size is not None,
        steps=args.iters is not None or args.iters_warm is not None,
        grids=args.grid_levels is not None,
    )
    options = EncodeOptions(
        quality=_quality(args), lambda_=args.lambda_, max_bpp=args.max_bpp, segment_groups=args.segment_groups
    )
    config, quant = _config(args, options.trade, given)
    cluster = None
    if args.workers is not None or args.ray_address is not None:
        cluster = Cluster(args.workers, args.ray_address, args.gpus_per_task, args.threads or 1)
    return EncodeRequest(
        inputs=tuple(args.inputs),
        output=args.output,
        config=config,
        quant=quant,
        options=options,
        given=given,
        preset=args.preset,
        sample=args.sample,
        frames=FrameRange(args.start, args.frames, args.stride, args.fps),
        mask=args.mask,
        cluster=cluster,
        threads=args.threads,
        overwrite=args.overwrite,
        resume=args.resume,
        quiet=args.quiet,
    )


def _quality(args: argparse.Namespace) -> float | None:
    """``--quality``; by default the typical quality of ``--max-bpp`` where one is given
    (:func:`~nvcodec.recipe.quality.quality_for_bpp`, rate control then fits lambda to the video), else
    :data:`DEFAULT_QUALITY`, unless ``--lambda`` or fixed depths (``--bits`` or ``--qat-iters`` alone) are
    asked for."""
    if args.quality is not None and args.lambda_ is not None:
        raise UsageError("give a quality or a lambda, not both")
    if args.quality is None and args.lambda_ is None and args.bits is None and args.qat_iters is None:
        return quality_for_bpp(args.max_bpp) if args.max_bpp is not None else DEFAULT_QUALITY
    return args.quality


def _config(args: argparse.Namespace, trade: RateTrade | None, given: Given) -> tuple[Config, QuantConfig]:
    """The preset with the user's settings, shaped for the quality where the user did not fix the shape."""
    overrides = {
        name: value
        for name, value in {
            "patch": args.patch,
            "hidden": args.hidden,
            "grid_levels": args.grid_levels,
            "grid_cell": args.grid_cell,
            "group_size": args.group_size,
            "iters": args.iters,
            "iters_warm": args.iters_warm,
            "seed": args.seed,
            "compile": args.compile,
            "scene_cuts": None if args.scene_cuts else False,
        }.items()
        if value is not None
    }
    if args.iters is not None and args.iters_warm is None:
        overrides["iters_warm"] = max(
            1, round(args.iters * PRESETS[args.preset].fit.iters_warm / PRESETS[args.preset].fit.iters)
        )
    if args.patch is not None:
        overrides["overlap"] = overlap_for(args.patch, PRESETS[args.preset].model.overlap)
    config = Config.preset(args.preset, device=args.device, **overrides)
    if trade is not None:
        config = shaped_for_quality(config, trade.quality, given)
    bits = args.bits or QuantConfig().bits_frame
    quant_options: dict = {"bits_frame": bits, "bits_latent": bits, "bits_bias": bits}
    if args.qat_iters is not None:
        quant_options["qat_iters"] = args.qat_iters
    return config, QuantConfig(**quant_options)


def coding_summary(trade: RateTrade | None, quant: QuantConfig) -> str:
    """How groups are coded, for the first line of an encode."""
    if trade is None:
        return f"{quant.bits_frame} bits"
    return f"lambda {trade.lambda_:.3g}"


LOG_INTERVAL = 30.0
"""Seconds between progress lines when stderr is a log, not a terminal."""


class EncodeProgress:
    """A bar per group with the live mini-batch PSNR on a terminal.

    In a log (stderr not a terminal) a line every :data:`LOG_INTERVAL` seconds
    instead, with the iteration, the PSNR and the time left, and one line per
    finished group. ``warm_iterations`` (of the groups after the first) lets
    the time left count the groups not started yet.
    """

    def __init__(self, quiet: bool, warm_iterations: int, interval: float = LOG_INTERVAL):
        self.quiet = quiet
        self.bars = progress_enabled(quiet)
        self.bar: tqdm | None = None
        self.warm_iterations = warm_iterations
        self.interval = interval
        self.started = self.group_started = self.logged = time.perf_counter()
        self.done_before = 0  # iterations of finished groups
        self.last_iteration = 0

    def eta(self, progress: FitProgress) -> float:
        """Seconds left at this run's average speed, counting the groups not started yet."""
        done = self.done_before + progress.iteration
        left = progress.iterations - progress.iteration + (progress.groups - progress.group - 1) * self.warm_iterations
        return left * (time.perf_counter() - self.started) / max(done, 1)

    def fit(self, progress: FitProgress) -> None:
        self.last_iteration = progress.iteration
        if self.quiet:
            return
        if not self.bars:
            now = time.perf_counter()
            if now - self.logged >= self.interval:
                self.logged = now
                tqdm.write(
                    f"group {progress.group + 1}/{progress.groups}: iteration {progress.iteration}/"
                    f"{progress.iterations}, {progress.psnr:.2f} dB, about {_duration(self.eta(progress))} left",
                    file=sys.stderr,
                )
            return
        if self.bar is None:
            self.bar = tqdm(
                total=progress.iterations,
                desc=f"group {progress.group + 1}/{progress.groups}",
                unit="it",
                leave=False,
                dynamic_ncols=True,
            )
        self.bar.update(progress.iteration - self.bar.n)
        self.bar.set_postfix_str(f"{progress.psnr:.2f} dB", refresh=False)

    def group_done(self, group: GroupCoded) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.done_before += self.last_iteration
        self.last_iteration = 0
        now = time.perf_counter()
        self.logged = now
        if group.resumed:
            line = (
                f"group {group.index + 1}/{group.count}: frames {group.start}-{group.end}, taken from the resume folder"
            )
        else:
            line = (
                f"group {group.index + 1}/{group.count}: frames {group.start}-{group.end}, "
                f"{group.payload_bytes:,} bytes{f' at {group.bits} bits' if group.bits else ''}, fit {group.fit_psnr:.2f} dB, {now - self.group_started:.0f} s"
            )
        self.group_started = now
        if not self.quiet:
            tqdm.write(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``: precise enough for a time left."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _prepare_output(job: Job, request: EncodeRequest) -> bool:
    """Whether ``job`` needs encoding: an existing complete output is kept (several inputs) unless -y."""
    several = len(request.inputs) > 1
    if several and job.output.exists() and not request.overwrite and not job.resume_folder.exists():
        if not is_complete(job.output):
            raise OutputError(f"{job.output} exists but is not a complete .actv file; use -y to replace it")
        info(PROG, f"{job.output} is already encoded; skipped (-y encodes it again)", request.quiet)
        return False
    check_output(job.output, request.overwrite)
    remove_stale_temporaries(job.output)
    if job.resume_folder.exists() and not request.resume:
        if not request.overwrite:
            raise UsageError(
                f"{job.resume_folder} holds an interrupted encode: add --resume to continue it, or -y to start over"
            )
        shutil.rmtree(job.resume_folder)
    elif request.resume and not job.resume_folder.exists():
        info(PROG, f"nothing to resume ({job.resume_folder} does not exist); starting from the first group",
             request.quiet)  # fmt: skip
    return True


def _encode_one(job: Job, request: EncodeRequest) -> None:
    """Encode one input serially, then print its summary."""
    source = open_input(job, request.frames)
    mask = open_mask(request.mask, request.frames, source.shape) if request.mask is not None else None
    try:
        config = config_for_video(request, job.name, source, mask is not None)
        count, height, width = source.shape
        max_bpp = request.options.max_bpp
        info(
            PROG,
            f"{job.name}: {count} frames of {width}x{height} at {source.fps:g} fps, preset {request.preset}, "
            f"{coding_summary(request.trade, request.quant)}{f', max {max_bpp:g} bpp' if max_bpp else ''}",
            request.quiet,
        )
        progress = EncodeProgress(request.quiet, config.fit.iters_warm)
        options = dataclasses.replace(
            request.options, resume_folder=job.resume_folder, callback=progress.fit, on_group=progress.group_done
        )
        try:
            stats = encode(source, job.output, config, request.quant, fps=source.fps, mask=mask, options=options)
        except KeyboardInterrupt as exc:
            if job.resume_folder.exists():
                what = f"finished groups are kept in {job.resume_folder}: run the same command with --resume to go on"
            else:
                what = "no group had finished, so nothing was kept"
            exc.args = (f"{interruption(exc)}; {what}",)
            raise
        finally:
            progress.close()
        quality = decoded_psnr(job.output, source, mask, str(resolve_device(config.fit.device)), request.quiet)
        summary(stats, quality, mask is not None, request)
    finally:
        source.close()
        if isinstance(mask, FrameSource):
            mask.close()


def _body(argv: Sequence[str] | None) -> int:
    request = request_from_args(build_parser().parse_args(argv))
    share = apply_threads(request.threads, share=True)
    try:
        return _encode_all(request)
    finally:
        if share is not None:
            install_share(None)
            share.close()


def _encode_all(request: EncodeRequest) -> int:
    resolve_device(request.config.fit.device)  # fail before reading anything
    jobs = jobs_of(request)
    if writes_to_folder(request):
        try:
            Path(request.output).mkdir(parents=True, exist_ok=True)  # the output folder of several inputs
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {request.output}: {exc.strerror or exc}") from None
    todo = [job for job in jobs if _prepare_output(job, request)]
    if request.cluster is not None:
        from nvcodec.cli.cluster import encode_on_cluster

        return encode_on_cluster(todo, request)
    failed = 0
    for job in todo:
        if len(jobs) == 1:
            _encode_one(job, request)  # its errors are the tool's: one line, exit 1
            continue
        try:
            _encode_one(job, request)
        except ActvError as exc:
            failed += 1
            info(PROG, f"error: {job.name}: {exc}", False)
    if failed:
        info(PROG, f"error: {failed} of {len(jobs)} inputs failed", False)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
