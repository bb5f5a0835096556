"""The package's import graph has no cycle (``python -m tools.imports`` prints its layers)."""

from tools.imports import build_graph, layers


def test_the_import_graph_is_layered():
    graph = build_graph()
    layer = layers(graph)  # raises on a cycle
    for name, targets in graph.items():
        assert all(layer[target] < layer[name] for target in targets), name
    # The decode side never reaches the encoder's machinery.
    below_reader = set()
    stack = ["nvcodec.reader"]
    while stack:
        for target in graph[stack.pop()]:
            if target not in below_reader:
                below_reader.add(target)
                stack.append(target)
    assert not below_reader & {"nvcodec.fit", "nvcodec.encoder", "nvcodec.recipe.group_coding", "nvcodec.recipe.qat"}


def test_a_cycle_is_reported():
    import pytest

    with pytest.raises(ValueError, match="a -> b -> a"):
        layers({"a": {"b"}, "b": {"a"}})


def test_quantization_lies_below_the_fit_and_decisions_above_it():
    graph = build_graph()
    layer = layers(graph)
    quant = [name for name in graph if name.startswith("nvcodec.quant.")]
    assert quant and all(layer[name] < layer["nvcodec.fit"] for name in quant)
    assert all(layer[name] > layer["nvcodec.fit"] for name in ("nvcodec.recipe.group_coding", "nvcodec.recipe.qat"))
