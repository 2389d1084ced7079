"""Type notes: a right value of another type is said (note), fails (strict), or is left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graders.errors import AssignmentError
from graders.inside.runtime import Runtime, describe_type
from graders.verdict.checks import Check, Visibility, check
from graders.verdict.compare import AllClose
from graders.verdict.model import Outcome
from graders.verdict.results import ProbeKind, ProbeResult, decode_payload
from graders.verdict.score import evaluate
from graders.verdict.typenote import TypePolicy, clean_type, judge, phrase

LOSS = torch.tensor(0.5, requires_grad=True) * 2  # a loss: still attached to its graph


def test_the_runtime_describes_what_the_encoded_value_cannot_say() -> None:
    assert describe_type(0.5) == "float" and describe_type(np.float64(0.5)) == "float"
    assert describe_type(np.float32(0.5)) == "float" and describe_type(True) == "bool"
    assert describe_type(torch.tensor(0.5)) == "tensor" and describe_type(LOSS) == "tensor+grad"
    assert describe_type(np.array([True])) == "array[bool]"
    assert describe_type(np.arange(3)) == "array[int]"
    assert describe_type([1.0, 2]) == {"list": ["float", "int"]}
    assert describe_type({"w": np.zeros(2), "b": (0.0,)}) == {
        "dict": {"w": "array[float]", "b": {"tuple": ["float"]}}
    }


def test_the_type_travels_with_the_value_and_each_case() -> None:
    rt = Runtime({})
    source = "def probe(student, ctx):\n    import torch\n    return torch.ones(2)\n"
    rt.run(source, "probe", '{"seed": 1, "device": "cpu"}')
    assert decode_payload(rt.take_text()).vtype == "tensor"
    source = (
        "def probe(student, ctx):\n    ctx.case('a', lambda: [1.0])\n"
        "    ctx.case('b', lambda: 1 / 0)\n"
    )
    rt.run(source, "probe", '{"seed": 1, "device": "cpu"}')
    got = decode_payload(rt.take_text())
    assert got.vtype == {"a": {"list": ["float"]}} and set(got.failed_cases) == {"b"}


def test_a_malformed_type_from_the_kernel_is_unknown() -> None:
    assert clean_type({"list": ["float"], "x": 1}) is None
    assert clean_type({"set": ["float"]}) is None and clean_type(7) is None
    assert clean_type("x" * 500) == "x" * 40
    assert judge(TypePolicy.STRICT, "float", None, "x").text == ""  # unknown: no note


@pytest.mark.parametrize(
    ("expected", "got", "policy", "fails", "says"),
    [
        ("float", "tensor", TypePolicy.NOTE, False, "Note: `acc` is a torch tensor; the docst"),
        ("float", "tensor", TypePolicy.STRICT, True, "`acc` is a torch tensor; the docstring"),
        ("float", "tensor", TypePolicy.IGNORE, False, ""),
        ("float", "int", TypePolicy.STRICT, False, ""),  # the numeric tower
        ("array[int]", "array[bool]", TypePolicy.STRICT, True, "a numpy bool array"),
        ({"list": ["float"]}, {"list": ["tensor+grad"]}, TypePolicy.NOTE, True, "autograd"),
        ({"list": ["float"]}, {"list": ["tensor"]}, TypePolicy.NOTE, False, "a list of torch"),
        ("tensor+grad", "tensor", TypePolicy.STRICT, False, ""),  # detached where it had grad
        ({"list": ["float"]}, {"list": []}, TypePolicy.STRICT, False, ""),
    ],
)
def test_policies(
    expected: object, got: object, policy: TypePolicy, fails: bool, says: str
) -> None:
    v = judge(policy, expected, got, "acc")
    assert v.fails is fails and (says in v.text if says else v.text == "")


def test_a_dict_result_is_judged_field_by_field() -> None:
    ref = {"dict": {"losses": {"list": ["float"]}, "weight": "tensor+grad"}}
    ok = {"dict": {"losses": {"list": ["float"]}, "weight": "tensor+grad"}}
    leak = {"dict": {"losses": {"list": ["tensor+grad"]}, "weight": "tensor+grad"}}
    assert judge(TypePolicy.NOTE, ref, ok, "").text == ""  # the weight needs grad in both
    v = judge(TypePolicy.NOTE, ref, leak, "")
    assert v.fails and v.text.startswith("`losses` is a list of torch tensors that require grad")
    assert phrase({"tuple": ["float", "array[int]"]}) == "a tuple of floats and numpy int arrays"


def _check(**kw: object) -> Check:
    base = dict(
        name="acc: x", stub="acc", description="x", func_name="p", source="", points=2.0,
        visibility=Visibility.PUBLIC, compare=AllClose(), label="accuracy", cases=False,
        timeout=None,
    )  # fmt: skip
    return Check(**{**base, **kw})  # type: ignore[arg-type]


def test_score_notes_a_right_value_of_another_type_and_fails_it_when_strict() -> None:
    ref = ProbeResult(ProbeKind.VALUE, value=0.5, vtype="float")
    got = ProbeResult(ProbeKind.VALUE, value=np.asarray(0.5, dtype=np.float32), vtype="tensor")
    noted = evaluate(_check(), ref, got)
    assert noted.outcome is Outcome.PASSED and noted.score == 2.0
    assert noted.message.startswith("Correct. Note: `accuracy` is a torch tensor")
    strict = evaluate(_check(types=TypePolicy.STRICT), ref, got)
    assert strict.outcome is Outcome.FAILED and strict.score == 0.0
    silent = evaluate(_check(types=TypePolicy.STRICT, feedback="none"), ref, got)
    assert silent.score == 0.0 and "tensor" not in silent.message


def test_score_judges_each_case_on_its_own_type() -> None:
    ref = ProbeResult(
        ProbeKind.VALUE, value={"a": 1.0, "b": 2.0}, vtype={"a": "float", "b": "float"}
    )
    got = ProbeResult(
        ProbeKind.VALUE, value={"a": 1.0, "b": 2.0}, vtype={"a": "float", "b": "tensor+grad"}
    )
    r = evaluate(_check(cases=True, points=4.0), ref, got)
    assert r.score == 2.0 and r.outcome is Outcome.FAILED
    assert [c.outcome for c in r.cases] == [Outcome.PASSED, Outcome.FAILED]
    assert "autograd" in (r.cases[1].message or "")


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(AssignmentError, match="types must be"):
        check(points=1, types="exact")
