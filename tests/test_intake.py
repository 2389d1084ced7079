"""The host-side rules on student input (#32), one module at a time, without a kernel; the
graded run with every hostile fixture is tests/test_host_edges.py."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from build_template import STUBS, notebook, write  # type: ignore[import-not-found]

from graders.errors import UsageError
from graders.intake import rules as intake
from graders.intake.discover import discover
from graders.spec.assignment import find_assignment

ROOT = Path(__file__).resolve().parent.parent


def _evil_assignment(folder: Path, marker: Path) -> None:
    """An assignment folder whose interpreter and checks.py would leave ``marker`` if the
    host ever ran them."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "evil.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    for d in (folder / "intro_ann", folder / "assignments" / "intro_ann"):
        d.mkdir(parents=True)
        (d / "assignment.toml").write_text(
            f'name = "intro_ann"\nstubs = ["f"]\n[environment]\npython = "{script}"\n'
        )
        (d / "checks.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


def test_a_students_folder_never_becomes_the_assignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "RAN-ON-THE-HOST"
    student = tmp_path / "alice"
    _evil_assignment(student, marker)
    write(student / "hw.ipynb", notebook(STUBS))
    monkeypatch.chdir(student)  # an instructor grading from inside the student's folder
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "empty"))
    found = find_assignment("intro_ann", submissions=(Path("."),))
    assert found.root == ROOT / "assignments" / "intro_ann"
    found.load_checks()
    # a bare name is never the folder of that name in the working directory
    shutil.rmtree(student / "assignments")
    assert find_assignment("intro_ann").root == ROOT / "assignments" / "intro_ann"
    assert not marker.exists()
    with pytest.raises(UsageError, match=r"write \./intro_ann"):
        find_assignment("intro_ann", home=tmp_path / "empty")


def test_the_name_in_a_notebooks_metadata_is_a_name_never_a_path(tmp_path: Path) -> None:
    from graders.intake.discover import load_file
    from graders.spec.assignment import assignment_for

    nb = notebook(STUBS)
    nb.metadata["grader"] = {"assignment": str(tmp_path / "alice" / "intro_ann")}
    write(tmp_path / "hw.ipynb", nb)
    sub = load_file(tmp_path / "hw.ipynb")
    with pytest.raises(UsageError, match="not a plain name"):
        assignment_for(sub, None, tmp_path)


def test_a_notebook_without_metadata_is_pointed_to_the_bundle_beside_it(tmp_path: Path) -> None:
    """#35.6: the student's bundle beside the notebook is what `grader check` suggests (not
    the harness's own demo assignments); suggested, not used unasked."""
    from graders.intake.discover import load_file
    from graders.spec.assignment import assignment_for

    nb = notebook(STUBS)
    nb.metadata.pop("grader", None)
    write(tmp_path / "hw.ipynb", nb)
    bundle = tmp_path / "intro_ann"
    bundle.mkdir()
    (bundle / "assignment.toml").write_text("")
    (bundle / "checks.json").write_text("{}")
    sub = load_file(tmp_path / "hw.ipynb")
    with pytest.raises(UsageError, match=r"pass --assignment \./intro_ann: the student bundle"):
        assignment_for(sub, None, tmp_path)


def test_links_in_a_folder_are_never_followed_out_of_it(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    alice = subs / "alice"
    alice.mkdir(parents=True)
    write(alice / "alice.ipynb", notebook(STUBS))
    write(subs / "bob.ipynb", notebook(STUBS))
    secret = tmp_path / "solution.py"
    secret.write_text("SECRET")
    (alice / "data.csv").write_text("1,2")
    (alice / "same.csv").symlink_to("data.csv")
    (alice / "solution.py").symlink_to(secret)
    (alice / "env").symlink_to("/proc/self/environ")
    (alice / "home").symlink_to(tmp_path)
    os.mkfifo(alice / "pipe")  # would block a plain read forever
    (subs / "carol.ipynb").symlink_to(subs / "bob.ipynb")
    found = discover([subs])
    by_id = {s.id: s for s in found.submissions}
    assert sorted(by_id) == ["alice", "bob"]  # carol's link is not a submission
    assert sorted(by_id["alice"].extra) == ["data.csv", "same.csv"]
    assert by_id["alice"].extra["same.csv"] == b"1,2"
    refused = {Path(p).name: why for p, why in found.skipped}
    assert {"solution.py", "env", "home", "pipe", "carol.ipynb"} <= refused.keys()
    assert "link" in refused["carol.ipynb"] and "regular file" in refused["pipe"]
    assert "solution.py" in by_id["alice"].note and "SECRET" not in json.dumps(
        {k: v.decode() for k, v in by_id["alice"].extra.items()}
    )
    with pytest.raises(OSError):
        intake.read_regular(alice / "solution.py", 1000, alice)


def test_ids_are_unique_and_never_a_name_the_run_writes(tmp_path: Path) -> None:
    for name in ("alice.ipynb", "alice-2.ipynb", "gradebook.csv.ipynb", "summary.html.ipynb"):
        write(tmp_path / name, notebook(STUBS))
    (tmp_path / "alice.py").write_text("x = 1\n")
    (tmp_path / "canvas.py").write_text("x = 1\n")
    ids = [s.id for s in discover([tmp_path]).submissions]
    assert len(set(ids)) == len(ids) == 6, ids
    assert not set(ids) & intake.RESERVED_IDS, ids
    assert {"alice", "alice-2", "alice-3", "gradebook.csv-2", "canvas-2"} <= set(ids), ids


def test_a_file_where_the_assignments_files_go_is_left_out() -> None:
    from graders.grading.execute import Source

    theirs = {"data/classes.csv": b"x"}
    mine = {"data": b"mine", "helper.py": b"", "data/classes.csv/x": b"", "submission.py": b""}
    assert intake.clashes(mine, theirs) == ["data", "data/classes.csv/x"]
    placed = Source(("",), (), mine).with_files(theirs).files
    assert sorted(placed) == ["data/classes.csv", "helper.py", "submission.py"]


def test_csv_cells_from_students_are_text_not_formulas() -> None:
    assert intake.csv_cell("=1+1") == "'=1+1" and intake.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert intake.csv_cell("\tx") == "'\tx" and intake.csv_cell("\rx") == "'\rx"
    assert intake.csv_cell("-2") == "-2" and intake.csv_cell("+1.5") == "+1.5"
    assert intake.csv_cell("-") == "-"  # Moodle's empty date: it compares it on import
    assert intake.csv_cell("Zoë") == "Zoë" and intake.csv_cell("'=x") == "'=x"
    assert intake.csv_cell("-cmd|' /C calc'!A0") == "'-cmd|' /C calc'!A0"


def test_reading_a_failed_cell_is_linear_and_never_raises() -> None:
    """#32.3: the blank-line cell took 20 s for 40k lines; a 200k-deep cell raised."""
    from graders.verdict.missing import defines

    t0 = time.process_time()
    assert not defines("oops = (" + "\n" * 110_000, "train")
    assert not defines("x = " + "(" * 200_000, "train")
    assert defines("def train(m):\n" + "\n" * 50_000 + "oops = (", "train")
    assert time.process_time() - t0 < 60  # a bound that only an explosion crosses


def test_a_reply_is_capped_before_it_is_parsed() -> None:
    """#32.7 and #32.5: an oversized or tampered deep reply is the check's invalid result."""
    from graders.verdict.results import MAX_PAYLOAD_CHARS, ProbeKind, decode_payload

    big = json.dumps({"kind": "value", "value": [[0.0] * 1000] * 4000})
    assert len(big) > MAX_PAYLOAD_CHARS
    r = decode_payload(big)
    assert r.kind == ProbeKind.INVALID and "too large" in r.note
    deep = '{"kind": "value", "value": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert decode_payload(deep).kind == ProbeKind.INVALID
    nested = '{"kind": "value", "value": ' + "[" * 500 + "]" * 500 + "}"
    assert decode_payload(nested).kind == ProbeKind.INVALID  # deeper than the codec allows


def test_a_tampered_reply_is_an_invalid_result_never_a_crash() -> None:
    """#32.5: a kernel can send any execute_reply it likes."""
    from graders.verdict.results import PAYLOAD_MIME, ProbeKind, decode_reply

    def reply(payload: object) -> dict[str, object]:
        data = {PAYLOAD_MIME: payload}
        return {"user_expressions": {"r": {"status": "ok", "data": data}}}

    nested: list[object] = []
    for _ in range(900):
        nested = [nested]
    error = {"kind": "error", "error": {"type": nested, "message": nested, "frames": [nested]}}
    for content in (
        {"user_expressions": ["r"]},
        {"user_expressions": {"r": "ok"}},
        [],
        reply(["not", "a", "string"]),
        reply(json.dumps(error)),
    ):
        r = decode_reply(content)
        assert r.kind in (ProbeKind.INVALID, ProbeKind.ERROR), (content, r)
    r = decode_reply(reply(json.dumps(error)))
    assert r.kind == ProbeKind.ERROR and r.error == {"type": "Error", "message": "", "frames": []}


def test_public_seeds_say_nothing_of_the_secret() -> None:
    """#32.9: public seeds come from public data; hidden ones still from the secret."""
    from dataclasses import replace

    from graders.grading.reference import seeds

    a = find_assignment("intro_ann", ROOT)
    suite = a.load_checks()
    one, other = seeds(a, suite), seeds(replace(a, secret_seed="another secret"), suite)
    for c in suite.checks:
        assert (one[c.name] == other[c.name]) == (not c.hidden), c.name
    assert seeds(replace(a, secret_seed=a.secret_seed), suite) == one  # stable


def test_similarity_is_bounded_per_submission() -> None:
    """#32.6: magics are read line by line (IPython's transformer re-read the cell for each);
    a submission over the size cap is left out with a note."""
    from graders.analysis.similarity import MAX_CODE_CHARS, extract

    magics = "\n".join(["x = !true"] * 2000) + "\ndef train(m):\n    return m * 2\n"
    code = extract("s", magics.encode(), "module", ("train",))
    assert code.stubs == {"train": "def train(m):\n    return m * 2"}
    huge = ("def train(m):\n    return m\n" + "y = 1\n" * (MAX_CODE_CHARS // 6)).encode()
    code = extract("h", huge, "module", ("train",))
    assert code.stubs == {} and "not compared" in code.notes[0]
