"""End to end: the scenario submissions graded once by `grader grade` in the real sandbox."""

from __future__ import annotations

import csv
import json
import re

import pytest

from graders.report.pages import RENDER_FAILED
from tests import scenarios
from tests.conftest import ROOT, GradedRun, regrade, run_grader, verdicts

pytestmark = pytest.mark.kernel
VALUE = re.compile(r"expected [-\d(\[]")  # "expected 0.5", "expected (3,)", "expected [1"

STUBS = [
    "gradient_descent", "perceptron_predict", "perceptron_train", "bce_loss",
    "train", "accuracy", "train_epoch", "evaluate",
]  # fmt: skip


def test_run_exit_code_and_listing(graded: GradedRun) -> None:
    # 3: every gradable submission was graded, but some could not be.
    assert graded.proc.returncode == 3, graded.proc.stderr
    assert ".DS_Store" in graded.proc.stderr and "skipped" in graded.proc.stderr
    assert "Traceback" not in graded.proc.stderr


def test_correct_scores_100_everywhere(graded: GradedRun) -> None:
    # folder_student: its notebook imports a module beside it, placed in its pre-started kernel
    for sub in ("correct", "module_correct", "module_main_guard", "folder_student"):
        r = graded.reports[sub]
        assert r["status"] == "graded"
        assert r["score"] == 100, [t for t in r["tests"] if t["outcome"] != "passed"]
        assert r["sandbox"].startswith("bwrap")
        assert r["data"] == "synthetic"


def test_template_scores_0_with_missing(graded: GradedRun) -> None:
    r = graded.reports["template"]
    assert r["score"] == 0
    assert {t["outcome"] for t in r["tests"]} == {"missing"}
    assert "NotImplementedError" in r["tests"][0]["output"]


def test_points_total_100_and_names_start_with_stub(graded: GradedRun) -> None:
    r = graded.reports["correct"]
    assert r["max_score"] == 100
    assert sum(t["max_score"] for t in r["tests"]) == 100
    for t in r["tests"]:
        assert t["name"].startswith(f"{t['stub']}: ")
    assert {t["stub"] for t in r["tests"]} == set(STUBS)
    for stub in STUBS:  # at least one public and one hidden check per stub
        kinds = {t["hidden"] for t in r["tests"] if t["stub"] == stub}
        assert kinds == {True, False}, stub


def test_forgetting_zero_grad_fails_training_checks(graded: GradedRun) -> None:
    for t in graded.by_stub("bob", "train") + graded.by_stub("bob", "train_epoch"):
        assert t["outcome"] == "failed", t
    for stub in ("gradient_descent", "accuracy", "evaluate"):
        assert all(t["outcome"] == "passed" for t in graded.by_stub("bob", stub))
    public = graded.test(
        "bob", "train: the notebook's regression (nn.Linear, MSELoss, Adam lr 0.1, 100 epochs)"
    )
    # the known mistake first, then the first differing epoch
    assert public["output"].startswith("Your losses match what happens when gradients accumulate")
    assert public["output"].split("Details: ")[1].startswith("losses[")
    assert public["expected"] and public["got"]


def test_a_notebook_in_the_seeds_own_style_scores_100(graded: GradedRun) -> None:
    """The course notebook's idiom: ``from tqdm import tqdm`` and ``tqdm(range(epochs))``,
    ``import pandas as pd``. The kernels have every package the seed imports."""
    r = graded.reports["seed_style"]
    lost = [(t["name"], t["output"]) for t in r["tests"] if t["score"] < t["max_score"]]
    assert r["score"] == 100, lost
    assert [c for c in r["cells"] if c["status"] not in ("ok", "skipped")] == []


def test_a_stub_whose_cell_failed_is_explained_by_that_cell(graded: GradedRun) -> None:
    """Not "`train` is not defined" but why: the cell that defines it stopped at an import."""
    r = graded.reports["no_such_package"]
    failed = [c for c in r["cells"] if c["status"] == "error"]  # later cells that call train too
    assert failed[0]["error"]["type"] == "ModuleNotFoundError", failed
    train = graded.by_stub("no_such_package", "train")
    assert train and {t["outcome"] for t in train} == {"missing"}
    want = (
        f"`train` is not defined: cell {failed[0]['index']}, which defines it, stopped at "
        "ModuleNotFoundError: No module named 'tqdm_for_grading_xyz'; the grading environment "
        "has no tqdm_for_grading_xyz (ask your instructor)."
    )
    assert {t["output"] for t in train} == {want}
    # a stub nobody wrote keeps the plain message
    gone = graded.by_stub("mixed_a", "perceptron_predict")
    assert all(
        t["output"].startswith("`perceptron_predict` is not defined. Define it") for t in gone
    )


def test_hard_coded_example_passes_public_fails_hidden(graded: GradedRun) -> None:
    checks = graded.by_stub("carol", "gradient_descent")
    outcome = {t["hidden"]: t["outcome"] for t in checks if "example" in t["name"] or t["hidden"]}
    assert outcome == {False: "passed", True: "failed"}


def test_accuracy_threshold_slip_fails(graded: GradedRun) -> None:
    for sub in ("carol", "mixed_a"):
        assert all(t["outcome"] == "failed" for t in graded.by_stub(sub, "accuracy")), sub
    t = graded.by_stub("carol", "accuracy")[0]
    # exact on any CPU: an accuracy is a count over 4 samples (3/4, 2/4)
    assert t["output"].endswith(". Details: accuracy: expected 0.875, got 0.625")


def test_equivalent_variants_pass(graded: GradedRun) -> None:
    # zero_grad after step, float32 arrays, tensors where lists are asked, 0-d tensors
    for stub in STUBS:
        assert all(t["outcome"] == "passed" for t in graded.by_stub("correct", stub))
    assert all(t["outcome"] == "passed" for t in graded.by_stub("mixed_b", "gradient_descent"))
    assert all(t["outcome"] == "passed" for t in graded.by_stub("mixed_a", "train"))
    assert all(t["outcome"] == "passed" for t in graded.by_stub("mixed_a", "perceptron_train"))


@pytest.mark.parametrize(
    ("sub", "stub", "outcome", "fragment"),
    [
        ("mixed_a", "gradient_descent", "failed", "xs: shape: expected (11,), got (10,)"),
        ("mixed_a", "perceptron_predict", "missing", "`perceptron_predict` is not defined"),
        ("mixed_a", "bce_loss", "failed", "loss: expected"),
        ("mixed_a", "train_epoch", "missing", "`train_epoch` is not defined"),
        ("mixed_a", "evaluate", "failed", "accuracy"),
        ("mixed_b", "perceptron_predict", "failed", "predictions"),
        # 0.2 and 0: sums of lr * (0 or ±1) * x over a few samples, shown to 6 digits
        ("mixed_b", "perceptron_train", "failed", "w[0]: expected 0.2, got 0"),
        ("mixed_b", "bce_loss", "missing", "`bce_loss` is not defined"),
        ("mixed_b", "train", "failed", "losses["),
        ("mixed_b", "train_epoch", "failed", "mean loss"),
        ("carol", "bce_loss", "error", "`bce_loss` raised IndexError"),
    ],
)
def test_buggy_and_missing_forms(
    graded: GradedRun, sub: str, stub: str, outcome: str, fragment: str
) -> None:
    tests = graded.by_stub(sub, stub)
    assert any(t["outcome"] == outcome and fragment in t["output"] for t in tests), tests
    assert sum(t["score"] for t in tests) < sum(t["max_score"] for t in tests)


def test_partial_credit_for_cases(graded: GradedRun) -> None:
    # mixed_b's `>=` only differs on the boundary case: half the hidden points.
    t = graded.test(
        "mixed_b", "perceptron_predict: hidden inputs, including points exactly on the boundary"
    )
    assert t["outcome"] == "failed" and t["score"] == t["max_score"] / 2
    assert [c["passed"] for c in t["cases"]] == [True, False]


def test_checks_hold_to_the_documented_contract(graded: GradedRun) -> None:
    # accuracy's docstring promises tensors only: a tensor-only solution is fully correct
    r = graded.reports["tensor_accuracy"]
    assert r["score"] == 100, [(t["name"], t["output"]) for t in r["tests"] if t["score"] < 1]


def test_one_raising_case_costs_that_case_only(graded: GradedRun) -> None:
    t = graded.test(
        "partly_right", "gradient_descent: hidden functions, starting points and step sizes"
    )
    assert t["outcome"] == "failed" and t["score"] == pytest.approx(t["max_score"] * 4 / 5)
    assert [c["passed"] for c in t["cases"]] == [True, True, True, True, False]
    zero = t["cases"][-1]
    assert (
        zero["outcome"] == "error"
        and "raised ValueError" in zero["message"]
        and "n_steps must be positive" not in zero["message"]  # a hidden check's message
    )
    # the stub's other checks are unaffected
    assert all(
        x["outcome"] == "passed" for x in graded.by_stub("partly_right", "gradient_descent")[:2]
    )


def test_a_call_that_does_not_fit_names_the_signature(graded: GradedRun) -> None:
    for t in graded.by_stub("wrong_signature", "train"):
        assert t["outcome"] == "error", t
        shown = "raised TypeError: train() takes 5 positional arguments"
        if t["feedback"] == "full":
            assert shown in t["output"]
        if t["feedback"] == "message":  # hidden: the type, never the message
            assert "raised TypeError" in t["output"] and "takes 5" not in t["output"]
        if t["feedback"] != "none":
            assert "`train(model, loss_fn, optimizer, X, y, epochs)`" in t["output"], t["output"]


def test_cell_status_comes_from_the_reply(graded: GradedRun) -> None:
    cells = graded.reports["hides_tracebacks"]["cells"]
    failed = [c for c in cells if c["status"] == "error"]
    assert len(failed) == 1, cells
    assert failed[0]["error"]["type"] == "ValueError"
    assert failed[0]["error"]["message"] == "hidden failure"
    assert graded.reports["hides_tracebacks"]["score"] == 100


def test_known_mistakes_are_named(graded: GradedRun) -> None:
    named = {
        name: {m["id"] for m in graded.reports[name]["misconceptions"]}
        for name in scenarios.KNOWN_MISTAKES
    }
    right = [n for n, (mid, _, _) in scenarios.KNOWN_MISTAKES.items() if named[n] == {mid}]
    wrong = {n: named[n] for n in scenarios.KNOWN_MISTAKES if n not in right}
    assert len(right) >= 0.9 * len(scenarios.KNOWN_MISTAKES), wrong
    # the diagnosis is above the numbers, on the failing checks of that stub only
    for name, (_, stub, _) in scenarios.KNOWN_MISTAKES.items():
        for t in graded.reports[name]["tests"]:
            if t["mistake"]:
                assert t["stub"] == stub and t["outcome"] == "failed", (name, t["name"])
                assert t["output"].startswith(t["mistake"]["explain"])


def test_several_mistakes_in_one_notebook(graded: GradedRun) -> None:
    def named(sub: str) -> set[str]:
        return {m["id"] for m in graded.reports[sub]["misconceptions"]}

    # each scenario's comment lists its bugs; log10 in bce_loss is not a known mistake
    assert named("mixed_a") == {"gd_without_x0", "acc_threshold_zero", "ev_batch_mean"}
    # mixed_b's perceptron_train never updates b; with its `>=` predict, the AND gate's weights
    # come out at zero, exactly as pt_prediction_update's do: a coincidence on one check that
    # the hidden check contradicts, so it is not named
    assert named("mixed_b") == {"pp_boundary", "train_without_zero_grad", "te_sum"}
    assert named("carol") == {"acc_threshold_zero", "ev_batch_mean"}
    assert named("bob") == {"train_without_zero_grad", "te_without_zero_grad"}


def test_no_mistake_named_without_one(graded: GradedRun) -> None:
    for name, r in graded.reports.items():
        if r["status"] == "graded" and r["score"] == r["max_score"]:
            assert r["misconceptions"] == [], name
    for name in scenarios.ONLY_ON_SILENT_CHECKS:  # seen only where feedback is "none"
        r = graded.reports[name]
        silent = [t for t in r["tests"] if t["outcome"] == "failed"]
        assert silent and all(t["feedback"] == "none" for t in silent), silent
        assert r["misconceptions"] == [], r["misconceptions"]
    for name in scenarios.UNLISTED:  # bugs that mistakes.py does not know
        r = graded.reports[name]
        assert r["score"] < r["max_score"] and r["misconceptions"] == [], (
            name,
            r["misconceptions"],
        )


def test_summary_counts_each_mistake(graded: GradedRun) -> None:
    page = (graded.out / "summary.html").read_text()
    assert "Known mistakes" in page
    # every student whose train forgot zero_grad, in one row: bob (three times: as a file and
    # in the Canvas and Gradescope exports), mixed_b and km_no_zero_grad
    forgot = [
        n
        for n, r in graded.reports.items()
        if any(m["id"] == "train_without_zero_grad" for m in r["misconceptions"])
    ]
    assert {"bob", "mixed_b", "km_no_zero_grad"} <= set(forgot), forgot
    row = re.search(r"<tr><td>(\d+)</td><td>forgot optimizer.zero_grad\(\)</td>.*?</tr>", page)
    assert row is not None and int(row.group(1)) == len(forgot), page
    assert all(f'href="{n}/feedback.html"' in row.group(0) for n in forgot)


def test_hidden_checks_reveal_no_values(graded: GradedRun) -> None:
    for sub, r in graded.reports.items():
        for t in r["tests"]:
            if t["hidden"] and t["feedback"] != "full":
                assert t["expected"] is None and t["got"] is None, (sub, t["name"])
                assert not VALUE.search(t["output"]), (sub, t["output"])
                assert all("expected" not in c for c in t["cases"])


def test_student_frames_only(graded: GradedRun) -> None:
    t = graded.by_stub("raises", "bce_loss")[0]
    assert t["outcome"] == "error"
    assert t["output"] == "`bce_loss` raised ZeroDivisionError: division by zero"
    names = [f["name"] for f in t["error"]["frames"]]
    assert names == ["bce_loss", "_helper"]
    assert all(f["where"].startswith("Cell In[") for f in t["error"]["frames"])
    assert "grader" not in json.dumps(t["error"])


def test_top_level_infinite_loop_is_interrupted(graded: GradedRun) -> None:
    r = graded.reports["loop_top"]
    assert r["cells"][1]["status"] == "timeout"
    assert r["score"] == 100


def test_c_level_loop_kills_and_restarts_kernel(graded: GradedRun) -> None:
    r = graded.reports["loop_c"]
    assert r["cells"][1]["status"] == "timeout"
    assert r["event_kinds"] == ["kernel_restarted"], r["events"]
    assert r["score"] == 100


def test_infinite_loop_in_graded_function(graded: GradedRun) -> None:
    for t in graded.by_stub("loop_in_function", "gradient_descent"):
        assert t["outcome"] == "timeout", t
        assert "did not finish" in t["output"]
    others = [
        t for t in graded.reports["loop_in_function"]["tests"] if t["stub"] != "gradient_descent"
    ]
    assert all(t["outcome"] == "passed" for t in others)


def test_kernel_exit_is_reported_and_survived(graded: GradedRun) -> None:
    r = graded.reports["exits_kernel"]
    died = [c for c in r["cells"] if c["status"] == "died"]
    assert len(died) == 1
    assert r["event_kinds"] == ["kernel_restarted"], r["events"]
    assert r["score"] == 100


def test_module_with_syntax_error_is_graded_with_its_error(graded: GradedRun) -> None:
    r = graded.reports["module_syntax_error"]
    assert r["status"] == "graded" and r["score"] == 0
    assert r["cells"][0]["status"] == "error"
    assert r["cells"][0]["error"]["type"] == "SyntaxError"


def test_ungradable_inputs_have_reasons(graded: GradedRun) -> None:
    assert graded.reports["broken"]["status"] == "ungradable"
    assert "not a valid notebook" in graded.reports["broken"]["reason"]
    assert graded.reports["essay"]["status"] == "ungradable"
    assert "not a notebook (.ipynb) or module (.py)" in graded.reports["essay"]["reason"]


def test_every_submission_has_all_files(graded: GradedRun) -> None:
    for sub in graded.reports:
        for name in ("report.json", "results.json", "feedback.html"):
            assert (graded.out / sub / name).is_file(), (sub, name)
        assert RENDER_FAILED not in (graded.out / sub / "feedback.html").read_text()
    with (graded.out / "gradebook.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(graded.reports)
    assert (graded.out / "summary.html").is_file()


def test_gradescope_results_have_only_spec_fields(graded: GradedRun) -> None:
    data = json.loads((graded.out / "bob" / "results.json").read_text())
    assert set(data) <= {"score", "execution_time", "output", "visibility", "stdout_visibility",
                         "extra_data", "tests", "leaderboard", "output_format"}  # fmt: skip
    assert data["score"] == graded.reports["bob"]["score"]
    for t in data["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert t["status"] in ("passed", "failed")


def test_rerun_skips_graded_submissions(graded: GradedRun, submissions) -> None:  # type: ignore[no-untyped-def]

    before = (graded.out / "correct" / "report.json").stat().st_mtime_ns
    args = ["grade", "intro_ann", str(submissions / "correct.ipynb"), "--out", str(graded.out)]
    proc = run_grader(args, graded.home, graded.cache, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "already graded" in proc.stderr
    assert (graded.out / "correct" / "report.json").stat().st_mtime_ns == before


def test_every_report_matches_the_json_schema(graded: GradedRun) -> None:
    import jsonschema

    schema = json.loads((ROOT / "graders" / "schema" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for sub, report in graded.reports.items():
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(report)]
        assert not errors, (sub, errors[:5])
    bad = json.loads(json.dumps(graded.reports["correct"]))
    bad["tests"][0]["outcome"] = "sort of"
    assert list(validator.iter_errors(bad))  # the schema can fail


def test_lms_exports_graded_with_their_identities(graded: GradedRun) -> None:
    jane = graded.reports["smithjane_1001"]
    assert jane["score"] == 100  # the resubmission (-1) counts, not the first try
    assert jane["submission"]["student_id"] == "1001"
    assert "latest of 2 files" in jane["submission"]["note"]
    john = graded.reports["doejohn_1002"]
    assert john["score"] == graded.reports["bob"]["score"] and "late" in john["submission"]["note"]
    assert graded.reports["Ada_Lovelace_4242"]["submission"]["student"] == "Ada Lovelace"
    assert graded.reports["Ada_Lovelace_4242"]["score"] == graded.reports["carol"]["score"]
    assert graded.reports["Bo_Li_4343"]["score"] == 100
    grace = graded.reports["Grace_Hopper_2001"]  # from the Gradescope export
    assert grace["submission"]["student"] == "Grace Hopper"
    assert grace["score"] == graded.reports["bob"]["score"]
    with (graded.out / "gradebook.csv").open() as f:
        rows = {row["ID"]: row for row in csv.DictReader(f)}
    assert rows["1001"]["Student"] == "smithjane" and rows["1001"]["intro_ann (100)"] == "100"
    assert rows["4242"]["Student"] == "Ada Lovelace"
    assert rows["2001"]["Student"] == "Grace Hopper"


def test_hidden_feedback_levels(graded: GradedRun) -> None:
    # the test home sets accuracy's hidden check to "none" and perceptron_train's to "full"
    [acc] = [t for t in graded.by_stub("mixed_a", "accuracy") if t["hidden"]]
    assert acc["feedback"] == "none" and acc["outcome"] == "failed"
    assert acc["output"] == "6 of 6 cases wrong on inputs that are not shown."
    assert acc["cases"] == [] and acc["expected"] is None
    [pt] = [t for t in graded.by_stub("mixed_b", "perceptron_train") if t["hidden"]]
    assert pt["feedback"] == "full" and pt["cases"][0]["expected"]  # values, case by case
    assert pt["output"].startswith("2 of 2 cases wrong. separable data: w[0]: expected")
    [gd] = [t for t in graded.by_stub("carol", "gradient_descent") if t["hidden"]]
    assert gd["feedback"] == "message" and "wrong shape" in gd["output"]


def test_kernels_started_ahead_served_submissions(graded: GradedRun) -> None:
    # the run uses --prestart on: most submissions got a kernel started while another was
    # graded, and gave the same results (every assertion above holds for them)
    ahead = [s for s, r in graded.reports.items() if "kernel_start_ahead" in r["timings"]]
    assert len(ahead) >= len(graded.reports) // 2, ahead


def test_fresh_and_zygote_kernels_give_identical_reports(graded: GradedRun, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The scenario set graded again with one fresh kernel per submission: every score,
    outcome, cell status and named mistake is the same as the zygote's."""
    kernels = {r["sandbox"].split("; ")[-1] for r in graded.reports.values()}
    if kernels != {"kernels forked from a zygote, one host uid each"}:
        pytest.skip(f"the scenario run did not use a zygote here: {kernels}")
    proc, fresh = regrade(graded, tmp_path / "fresh", ["--kernels", "fresh"])
    assert proc.returncode == graded.proc.returncode, proc.stderr[-3000:]
    assert sorted(fresh) == sorted(graded.reports)
    assert {r["sandbox"].split("; ")[-1] for r in fresh.values()} == {
        "a fresh kernel per submission"
    }
    differ = [s for s in fresh if verdicts(fresh[s]) != verdicts(graded.reports[s])]
    assert differ == [], {s: (verdicts(fresh[s]), verdicts(graded.reports[s])) for s in differ}
