"""The ANS entropy coder: near the empirical entropy, and exact for any symbols."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec import entropy


def test_entropy_coder_is_near_the_bound_and_exact():
    rng = np.random.default_rng(0)
    symbols = np.clip(np.round(rng.laplace(0, 6, 50_000)), -127, 127).astype(np.int64)
    stream = entropy.encode(symbols)
    np.testing.assert_array_equal(entropy.decode(stream), symbols)
    assert entropy.coded_bits(stream) <= 1.01 * entropy.empirical_entropy_bits(symbols) + 64


@given(st.lists(st.integers(-300, 300), max_size=200))
@settings(max_examples=60, deadline=None)
def test_entropy_round_trip_any_symbols(values):
    symbols = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(entropy.decode(entropy.encode(symbols)), symbols)
