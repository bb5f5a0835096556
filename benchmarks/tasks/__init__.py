"""The ActINR paper's tasks on real clips: slow motion, super-resolution, denoising, inpainting.

``python -m benchmarks.tasks --quick`` (carphone only, short fits: a few
minutes on 2 CPU cores) or ``python -m benchmarks.tasks`` (every clip, longer
fits; the run time is estimated up front). ``--tasks`` and ``--clips`` pick a
subset, ``--budget`` sets the seconds per neural fit. One table per task is
printed and the results go to ``benchmarks/results/tasks.json`` / ``tasks.md``
(``tasks_quick.*`` with ``--quick``).

Protocols (``T`` = frames used; scores are RGB PSNR from the clip-wide MSE and
SSIM, both from :mod:`benchmarks.rd_metrics`, against the clean frames):

``slowmo`` (10x slow motion)
    Train on frames 0, 10, 20, 30 of a 31-frame clip; score the 27 frames in
    between. Compared with repeating the previous trained frame, a linear
    blend, FFmpeg's motion-compensated ``minterpolate`` and the NeRV family
    rendered at the in-between indices (NeRV: its time input is continuous;
    HNeRV and HNeRV-Boost: embeddings interpolated linearly, see
    ``baselines/hnerv.py``; HiNeRV: its grids interpolated linearly in time).
``sr`` (4x spatial + 2x temporal super-resolution)
    Train on every 2nd frame shrunk 4x by 4x4 block averaging; render every
    frame at full size and score all of them (also split into trained and
    in-between frames). Compared with bicubic upscaling plus a linear blend
    in time. The NeRV family renders only at its training resolution, so it
    takes no part.
``denoise``
    Add Gaussian noise of sigma 25/255 and 50/255 (seeded, clipped to [0, 1]),
    fit the noisy frames, score against the clean ones. Compared with the
    noisy input itself, per-frame non-local means (scikit-image, told the true
    sigma) and the NeRV family fitted to the same noisy frames.
``inpaint``
    Two masks: 30 % of the pixels missing at random (i.i.d. per pixel and per
    frame, missing pixels set to black) and a text overlay (two subtitle-like
    lines burnt into every frame at the same place, set to white). Every
    system is told which pixels are unknown. Scored on the unknown pixels only
    and on the whole frame (each system's output as it is; biharmonic keeps
    the known pixels). Compared with the degraded input, per-frame biharmonic
    inpainting (scikit-image) and the NeRV family trained on the known pixels.

Budgets: every neural system gets the same wall clock per fit. nvcodec's fit
has an iteration count, not a time limit, so a few iterations of the task's
own fit are timed first and the count is set to fill ``--budget``
(first group : later groups = 3 : 2 iterations, the ratio of the ``fast`` preset when these settings were
chosen);
its actual fit time (calibration excluded, recorded apart) then becomes the
``seconds=`` budget of the NeRV family (NeRV, HNeRV, HiNeRV, HNeRV-Boost), each
sized to the preset whose stored-number count is nearest nvcodec's model and
trained without its paper's compression stages (a task scores the float model).
Every row records its seconds.

nvcodec settings per task, from 20 s probes on carphone (``run_task`` with
other ``NVCODEC_TASK`` values, on a busy 2-core machine; one run each): the ``fast`` preset uncompiled (``torch.compile``'s ~25 s warm-up
would eat a short budget) with 8192 pixels per step instead of the then default 32768, so a
short budget still gets hundreds of steps (slow motion: 25.1 dB against
22.8 dB with the full batch). ``group_size`` 30 for slow motion and
super-resolution: one group sees every trained frame and gets the whole
budget. Slow motion scored the same with groups of 10 (25.2 against 25.1 dB)
at three times the numbers; super-resolution scored 23.5 dB with one group
against 22.6 dB with three. The default patch (clipped to the 44x36 frame:
one patch) is kept for super-resolution: 24-pixel patches scored the same
PSNR (23.4 dB) and a lower SSIM with three times the numbers.
"""
