"""Quantization: how a fitted group's parameters become integer symbols and steps.

The decoder needs :mod:`~nvcodec.quant.uniform` only (symbols times steps, plus
the reference of a residual group). Everything else here is the encoder's
choice, free under the format (ACTV.md section 5):

- :mod:`~nvcodec.quant.uniform`: per-channel uniform quantization, residuals, pruning;
- :mod:`~nvcodec.quant.sensitivity`: what rounding each parameter costs in the decoded frames;
- :mod:`~nvcodec.quant.steps`: steps that spend a group's bits where that cost is highest;
- :mod:`~nvcodec.quant.rounding`: symbols whose rounding errors cancel in the output;
- :mod:`~nvcodec.quant.ratecontrol`: bit depth per group under a bits-per-pixel budget;
- :mod:`~nvcodec.quant.rdtrain` and :mod:`~nvcodec.quant.ratemodel`: rate in the loss (learned steps, stand-ins).

Every module here lies below :mod:`nvcodec.fit`. What decides how a video is
coded (the recipe for a group, the quality's width and group length, the trial
fits, staged fine-tuning) uses the fit and lives above it, in :mod:`nvcodec.recipe`.

Nothing is imported here, so a decoder loads only what it uses.
"""
