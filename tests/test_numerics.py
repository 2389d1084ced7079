"""No verdict hangs on the last bits of a float: the scenario set graded again with torch on
another SIMD kernel path (``ATEN_CPU_CAPABILITY``) and another thread count in the kernels
(``GRADER_KERNEL_THREADS``) gives the same scores, outcomes, cell statuses and named mistakes as
the session's run, and its reports agree with the golden files (written on yet another CPU)
within the tolerance that tests/test_golden.py explains.

The whole suite can run under either setting too: ``make test-numerics`` runs the grading and
golden tests with ``ATEN_CPU_CAPABILITY=default`` and ``=avx2`` set for the whole run.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from graders.sandbox.numerics import CAPABILITY, THREADS
from tests.conftest import GradedRun, regrade, verdicts
from tests.test_golden import golden_differences

pytestmark = pytest.mark.kernel

# One cell that says which kernels torch dispatches to and how many threads it has.
PROBE = (
    "import torch\n"
    "print('numerics', torch.backends.cpu.get_cpu_capability(), torch.get_num_threads())"
)


def _probe_notebook(folder: Path) -> Path:
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    path = folder / "numerics_probe.ipynb"
    path.write_text(nbformat.writes(nb))
    return path


def test_another_kernel_path_changes_no_verdict(graded: GradedRun, tmp_path: Path) -> None:
    # whatever path the session's run took, this run takes another one
    other = "avx2" if os.environ.get(CAPABILITY, "").strip().lower() == "default" else "default"
    probe = _probe_notebook(tmp_path / "probe")
    env = {CAPABILITY: other, THREADS: "2", "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}
    # a cache of its own: the reference is computed anew on that path (the session's cache
    # keeps one reference per assignment, as other tests expect)
    proc, reports = regrade(graded, tmp_path / "out", [str(probe)], env, tmp_path / "cache")
    assert proc.returncode == graded.proc.returncode, proc.stderr[-3000:]

    # the setting reached the kernels on purpose (the sandbox clears their environment)
    printed = [c["output"] for c in reports.pop("numerics_probe")["cells"]]
    assert printed == [f"numerics {other.upper()} 2\n"], printed

    assert sorted(reports) == sorted(graded.reports)
    differ = [s for s in reports if verdicts(reports[s]) != verdicts(graded.reports[s])]
    assert differ == [], {s: (verdicts(reports[s]), verdicts(graded.reports[s])) for s in differ}
    differences = golden_differences("intro_ann_scenarios", reports, proc.returncode)
    assert not differences, "\n".join(differences[:30])
