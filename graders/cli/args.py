"""The ``grader`` command's arguments: every subcommand, its options and its help."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import __version__
from ..analysis.similarity import THRESHOLD, TOP
from ..errors import default_jobs, exit_codes_help
from ..kernel.providers import KERNEL_CHOICES

EXIT_CODES = exit_codes_help()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox",
        default="auto",
        choices=["auto", "bwrap", "none"],
        help="kernel isolation; auto = bwrap where installed (default: auto)",
    )
    p.add_argument(
        "--kernels",
        default="auto",
        choices=KERNEL_CHOICES,
        help="zygote: fork each kernel from one that imported the heavy modules once per run "
        "(bwrap as root); fresh: start each anew; auto: zygote where it works (default: auto)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="reference results and generated data (default: ~/.cache/grader)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding FashionMNIST/raw (default: a small synthetic set)",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="auto: CUDA when the assignment allows it and a GPU is visible",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade machine-learning notebooks in a sandbox against a reference.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"graders {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _grade(sub)
    _check(sub)
    _others(sub)
    _export(sub)
    _publish(sub)
    _similarity(sub)
    return parser


def _with_exit_codes(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with the exit-code table (the ones LMS scripts run)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help, epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    return parser


def _class_inputs(p: argparse.ArgumentParser) -> None:
    """What grade and similarity both read: an assignment, the submissions, an output folder."""
    p.add_argument(
        "assignment",
        help="assignment name (assignments/<name>) or a folder written as a path (./NAME)",
    )
    p.add_argument("inputs", nargs="+", type=Path, help="notebooks, modules or folders of them")
    p.add_argument(
        "--out", type=Path, default=Path("reports"), help="output folder (default: reports)"
    )


def _grade(sub: Any) -> None:
    g = _with_exit_codes(sub, "grade", "grade one or many submissions")
    _class_inputs(g)
    g.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=default_jobs(),
        help="submissions graded at once (default: number of cores)",
    )
    g.add_argument("--force", action="store_true", help="regrade submissions already graded")
    g.add_argument(
        "--prestart",
        choices=["auto", "on", "off"],
        default="auto",
        help="start each worker's next kernel while it grades (auto: when cores > jobs)",
    )
    g.add_argument(
        "--ungradable-score",
        choices=["blank", "zero"],
        default="blank",
        help="gradebook.csv's points for a submission that could not be graded: blank (an "
        "LMS import leaves the grade alone) or zero (default: blank)",
    )
    g.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="grade on a Dask cluster, e.g. tcp://scheduler:8786 (one task per submission)",
    )
    g.add_argument(
        "--similarity",
        action="store_true",
        help="also write similarity.html/.json (how alike the submissions are; no score "
        "changes), linked from summary.html",
    )
    _common(g)


def _check(sub: Any) -> None:
    c = _with_exit_codes(sub, "check", "self-check one submission on the public checks")
    c.add_argument("submission", type=Path)
    c.add_argument(
        "--assignment", default=None, help="assignment name (default: from the notebook)"
    )
    c.add_argument(
        "--out",
        type=Path,
        default=Path("grader-feedback"),
        help="where feedback.html goes (default: grader-feedback)",
    )
    _common(c)


def _others(sub: Any) -> None:
    v = sub.add_parser("verify", help="check an assignment: reference 100, template 0")
    v.add_argument("assignment")
    v.add_argument(
        "--mutants", action="store_true",
        help="also grade mutants of the reference (one small change each) and list those the "
        "checks do not catch",
    )  # fmt: skip
    v.add_argument(
        "--mutants-json", type=Path, default=None, metavar="PATH",
        help="write the mutation summary here as JSON (for CI)",
    )  # fmt: skip
    _common(v)

    b = sub.add_parser("build", help="write the student bundle (public checks, no secrets)")
    b.add_argument("assignment")
    b.add_argument("--out", type=Path, default=Path("dist"), help="default: dist/<name>")
    _common(b)

    n = sub.add_parser("new", help="start a new assignment that already passes grader verify")
    n.add_argument("name", help="lower case letters, digits and _")
    n.add_argument("--title", default=None)
    n.add_argument("--root", type=Path, default=Path("."), help="where assignments/ lives")
    n.add_argument(
        "--class",
        dest="classes",
        action="store_true",
        help="the exercise is a class students write (fit/transform), not a function",
    )

    i = sub.add_parser("import", help="an otter or nbgrader assignment as one of ours")
    i.add_argument("format", choices=["otter", "nbgrader"])
    i.add_argument("source", type=Path,
                   help="otter: the master notebook; nbgrader: source/<assignment>/")  # fmt: skip
    i.add_argument("--name", default=None, help="the assignment's name (default: from the source)")
    i.add_argument("--root", type=Path, default=Path("."), help="where assignments/ lives")

    d = sub.add_parser("data", help="write datasets for offline use")
    d.add_argument("dataset", choices=["fashion-mnist"])
    d.add_argument(
        "--synthetic",
        type=Path,
        required=True,
        metavar="DIR",
        help="write a small synthetic set in FashionMNIST's format into DIR",
    )


def _export(sub: Any) -> None:
    """``grader export canvas|moodle REPORTS``: files the LMS imports, from finished reports."""
    e = sub.add_parser(
        "export", help="grades and feedback pages in the files Canvas or Moodle import"
    )
    lms = e.add_subparsers(dest="lms", required=True)
    c = lms.add_parser("canvas", help="gradebook import CSV + Re-Upload Submissions zip")
    c.add_argument("reports", type=Path, help="a `grader grade --out` folder")
    c.add_argument("--gradebook", type=Path, required=True,
                   help="your Canvas gradebook export (Grades > Export), the template")  # fmt: skip
    c.add_argument("--assignment", default=None,
                   help="the gradebook column's name or id (default: the one matching the "
                   "assignment's title)")  # fmt: skip
    c.add_argument("--out", type=Path, default=None, help="default: REPORTS/canvas")
    m = lms.add_parser("moodle", help="filled grading worksheet + feedback files zip")
    m.add_argument("reports", type=Path, help="a `grader grade --out` folder")
    m.add_argument("--worksheet", type=Path, required=True,
                   help="the assignment's Download grading worksheet file")  # fmt: skip
    m.add_argument("--out", type=Path, default=None, help="default: REPORTS/moodle")
    for what in ("id", "grade", "feedback", "max", "name", "team"):
        m.add_argument(f"--{what}-column", default=None, metavar="HEADER",
                       help=f"the worksheet's {what} column, where its header is in a "
                       "language the grader does not know")  # fmt: skip


def _publish(sub: Any) -> None:
    """``grader publish canvas REPORTS``: grades, comments and pages through Canvas's API."""
    p = sub.add_parser("publish", help="post grades and feedback pages through an LMS's API")
    lms = p.add_subparsers(dest="lms", required=True)
    c = lms.add_parser("canvas", help="grade, comment and feedback page for each student")
    c.add_argument("reports", type=Path, help="a `grader grade --out` folder")
    c.add_argument("--url", required=True, help="your Canvas, e.g. https://canvas.example.edu")
    c.add_argument("--course", required=True, help="the course id (in its URL)")
    c.add_argument("--assignment", required=True, help="the assignment id (in its URL)")
    c.add_argument("--token-file", type=Path, default=None,
                   help="a file holding the API token (default: $CANVAS_TOKEN); never the "
                   "command line")  # fmt: skip
    c.add_argument("--dry-run", action="store_true", help="say what would be sent; send none")


def _similarity(sub: Any) -> None:
    s = sub.add_parser(
        "similarity",
        help="how alike a class's submissions are, per exercise (evidence, never a verdict)",
    )
    _class_inputs(s)
    s.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help=f"flag pairs this many spreads above the class's usual likeness (default: "
        f"{THRESHOLD:g})",
    )
    s.add_argument("--top", type=int, default=TOP, help=f"pairs listed (default: {TOP})")
