"""Comparators: what passes, what fails, and what the student reads."""

from __future__ import annotations

import numpy as np

from graders.verdict.codec import Opaque
from graders.verdict.compare import allclose, exact, within


def test_allclose_names_the_first_difference() -> None:
    v = allclose()([1.0, 0.8, 0.64, 0.512], [1.0, 0.8, 0.64, 0.488], "xs")
    assert not v.passed
    assert v.message == "xs[3]: expected 0.512, got 0.488 (1 of 4 values differ)"
    assert "0.512" not in v.hint and "xs[3]" in v.hint


def test_allclose_accepts_equivalent_types() -> None:
    expected = [1.0, 0.8, 0.64]
    assert allclose(rtol=1e-4)(expected, np.array(expected, dtype=np.float32), "xs").passed
    assert allclose()(0.75, np.array(0.75), "acc").passed  # a 0-d tensor for a float


def test_shape_messages() -> None:
    v = allclose()(np.zeros(100), np.zeros((100, 1)), "losses")
    assert "shape: expected (100,), got (100, 1)" in v.message
    assert "reshape" in v.message
    assert "(100,)" not in v.hint  # hidden checks must not reveal input sizes
    v = allclose()([1.0, 2.0], [1.0], "xs")
    assert "1 values where 2 were expected" in v.message


def test_dtype_kinds_and_nan_and_type_errors() -> None:
    ints = allclose(dtype_kinds="iub")
    assert ints([0, 1], np.array([0, 1]), "p").passed
    assert "integer" in ints([0, 1], np.array([0.0, 1.0]), "p").message
    assert allclose()(1.0, float("nan"), "x").message.startswith("x: got NaN")
    assert "got None" in allclose()(1.0, None, "x").message
    assert "Tensor" in allclose()(1.0, Opaque("Tensor", "tensor(1., device='meta')"), "x").message


def test_dicts_exact_within() -> None:
    cmp = allclose()
    assert cmp({"w": [1.0, 2.0], "b": 0.5}, {"w": [1.0, 2.0], "b": 0.5}, "").passed
    assert cmp({"w": [1.0, 2.0], "b": 0.5}, {"w": [1.0, 2.0], "b": 0.7}, "").message.startswith(
        "b:"
    )
    assert "missing 'b'" in cmp({"w": 1.0, "b": 0.5}, {"w": 1.0}, "").message
    assert exact()("a", "a", "s").passed and not exact()("a", "b", "s").passed
    assert within(0.01)(0.5, 0.505, "acc").passed and not within(0.01)(0.5, 0.52, "acc").passed


def test_an_empty_label_names_dict_fields_alone_and_anything_else_result() -> None:
    from graders.verdict.compare import AllClose, Exact

    assert AllClose()({"loss": 1.0}, {"loss": 2.0}, "").message == "loss: expected 1, got 2"
    assert AllClose()(1.0, 2.0, "").message == "result: expected 1, got 2"
    assert AllClose()((1.0, {"a": 1}), (2.0, {"a": 1}), "").message.startswith("result[0]")
    assert Exact()("a", "b", "").message.startswith("result: ")
