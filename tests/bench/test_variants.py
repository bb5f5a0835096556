"""The variant overrides of the sweep benchmarks: config fields, and ``iters_scale`` through the fit-length rule."""

from benchmarks.variants import parse_variant, with_overrides
from nvcodec.config import Config


def test_overrides_replace_fields_and_iters_scale_multiplies_both_step_counts():
    base = Config.preset("fast")
    config = with_overrides(base, parse_variant("hidden=96,iters_scale=2,lr=0.005"))
    assert (config.model.hidden, config.fit.lr) == (96, 0.005)
    assert (config.fit.iters, config.fit.iters_warm) == (2 * base.fit.iters, 2 * base.fit.iters_warm)
    assert with_overrides(base, parse_variant("base")) == base
