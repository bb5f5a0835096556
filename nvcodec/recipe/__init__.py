"""How a video is coded: the decisions above the fit.

- :mod:`~nvcodec.recipe.shape`: the width and group length a quality asks for;
- :mod:`~nvcodec.recipe.trials`: short trial fits that widen the model where it pays on the video;
- :mod:`~nvcodec.recipe.quality`: the quality knob, its lambda, and :func:`config_for_quality`, the one rule
  that turns a quality into a video's config;
- :mod:`~nvcodec.recipe.group_coding`: the recipe for one fitted group (rate in the loss, or depth, steps,
  rounding and fine-tuning);
- :mod:`~nvcodec.recipe.qat`: fine-tuning that rounds the frame INR in stages.

These use :mod:`nvcodec.fit`; the quantization they drive (:mod:`nvcodec.quant`) lies below it.
"""
