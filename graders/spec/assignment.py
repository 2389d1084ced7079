"""Assignments: ``assignments/<name>/assignment.toml``, the template, the checks, the reference."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AssignmentError, UsageError
from ..intake import notebook
from ..verdict.checks import HIDDEN_DATA, CheckSuite, load_checks
from .environment import HARNESS, KernelPython
from .environment import resolve as resolve_python

if TYPE_CHECKING:
    from ..intake.discover import Submission

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; every field can be set in ``[limits]`` of assignment.toml."""

    cell_timeout: float = 60.0  # seconds per notebook cell
    check_timeout: float = 30.0  # seconds per probe
    submission_timeout: float = 600.0  # seconds for everything one submission does
    startup_timeout: float = 60.0  # seconds for the kernel to answer
    memory_mb: int = 4096  # resident memory of the kernel and its children
    max_processes: int = 256  # processes and threads
    max_file_mb: int = 256  # size of any one file the kernel writes
    tmp_mb: int = 512  # private /tmp
    work_mb: int = 512  # what the kernel may write into its work dir, in total
    max_output_kb: int = 512  # captured output kept per cell or check
    max_total_output_mb: int = 16  # output the harness accepts per submission, then kills
    max_restarts: int = 3  # kernel restarts after a crash or a hard timeout
    # GPU memory one kernel may allocate through torch when grading on CUDA (0: no cap). A
    # cap set in torch's allocator: it keeps workers that share a GPU from starving each
    # other, and an over-allocation fails with a clear error; hostile code can lift it.
    gpu_memory_mb: int = 0


DEFAULT_LIMITS = Limits()
# assignments/<name>/data/: small files the notebook reads as data/<file>. They travel to every
# kernel with the submission (and into the student bundle), so they are kept small; a large
# data set is mounted with --data-dir instead.
DATA_FOLDER = "data"
MAX_DATA_MB = 8
ZERO_MEANS_NONE = {"gpu_memory_mb"}


@dataclass(frozen=True)
class ManualItem:
    """A question graded by hand (``[[manual]]``): shown on the feedback page and as an empty
    gradebook column; never scored by the harness (an imported otter or nbgrader question)."""

    name: str
    title: str
    points: float


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    version: str
    root: Path  # assignments/<name>
    reference_dir: Path | None  # reference/<name>, absent in a student bundle
    stubs: tuple[str, ...]
    secret_seed: str  # an int in older assignments: the same seeds (its digits are hashed)
    limits: Limits
    data: str | None  # "fashion-mnist" when the template reads that dataset
    heavy_imports: tuple[str, ...]
    allow_cuda: bool = False  # may the checks run on a GPU (--device auto/cuda)
    python: KernelPython = HARNESS  # the interpreter kernels run in ([environment])
    total_points: float = 100.0  # what verify expects the checks to total ([grading])
    # hidden checks with fixed inputs, as otter's and nbgrader's are ([grading]): verify does
    # not ask their expected values to move with the seed
    fixed_hidden_inputs: bool = False
    manual: tuple[ManualItem, ...] = ()

    @property
    def template(self) -> Path:
        return self.root / "template.ipynb"

    @property
    def checks_path(self) -> Path:
        return self.root / "checks.py"

    def load_checks(self) -> CheckSuite:
        return load_checks(self.checks_path, self.stubs)

    @property
    def mistakes_path(self) -> Path:
        """Known mistakes (optional): named in feedback, never scored."""
        return self.root / "mistakes.py"

    def reference_files(self) -> list[Path]:
        if self.reference_dir is None or not self.reference_dir.is_dir():
            return []
        return sorted(p for p in self.reference_dir.rglob("*.py") if "__pycache__" not in p.parts)

    def reference_submission(self) -> Path:
        for p in self.reference_files():
            if p.name == "solution.py":
                return p
        raise AssignmentError(f"no reference solution.py under {self.reference_dir}")

    @functools.cached_property
    def data_files(self) -> dict[str, bytes]:
        """The assignment's public data, ``{"data/points.csv": bytes}``: beside the notebook
        in every kernel (the students', the reference's, the known mistakes') and shipped in
        the student bundle. Hidden files (dot files) are left out."""
        folder = self.root / DATA_FOLDER
        if not folder.is_dir():
            return {}
        files = {
            f"{DATA_FOLDER}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(s.startswith(".") for s in p.relative_to(folder).parts)
        }
        size = sum(len(d) for d in files.values())
        if size > MAX_DATA_MB << 20:
            raise AssignmentError(
                f"{folder} holds {size / 2**20:.1f} MB; an assignment's data/ may hold "
                f"{MAX_DATA_MB} MB (it travels with every submission): mount a larger data set "
                "with --data-dir instead"
            )
        return files

    def fingerprint(self, mistakes: bool = True) -> str:
        """Changes whenever anything that can change a grade changes. ``mistakes=False``:
        what the reference's results depend on (mistakes.py changes feedback, not them)."""
        h = hashlib.sha256()
        files = [self.root / "assignment.toml", self.checks_path, *self.reference_files()]
        if mistakes:
            files.append(self.mistakes_path)  # feedback changes with it: a rerun regrades
        files += [self.root / "checks.json", self.root / "expected.json"]  # a student bundle
        for p in files:
            if p.is_file():
                h.update(p.name.encode())
                h.update(p.read_bytes())
        for name, data in self.data_files.items():
            h.update(name.encode())
            h.update(data)
        hidden = self.root / HIDDEN_DATA  # what hidden checks read
        for p in sorted(hidden.rglob("*")) if hidden.is_dir() else []:
            if p.is_file():
                h.update(p.relative_to(hidden).as_posix().encode())
                h.update(p.read_bytes())
        return h.hexdigest()[:16]


def _limits(table: dict[str, Any], where: Path) -> Limits:
    known = {f.name: f.type for f in fields(Limits)}
    unknown = set(table) - set(known)
    if unknown:
        raise AssignmentError(f"{where}: unknown limits {sorted(unknown)}; known: {sorted(known)}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        zero_ok = key in ZERO_MEANS_NONE
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or value < 0
            or (value == 0 and not zero_ok)
        ):
            kind = "a number >= 0 (0: no cap)" if zero_ok else "a positive number"
            raise AssignmentError(f"{where}: limits.{key} must be {kind}")
        values[key] = int(value) if known[key] in ("int", int) else float(value)
    return replace(DEFAULT_LIMITS, **values)


def search_roots() -> list[Path]:
    """Where assignments are looked for: $GRADER_HOME, the working directory, this checkout."""
    roots = []
    if env := os.environ.get("GRADER_HOME"):
        roots.append(Path(env))
    roots.append(Path.cwd())
    roots.append(Path(__file__).resolve().parent.parent.parent)
    return roots


PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def _is_path(name: str) -> bool:
    """A name the user wrote as a path (``./hw``, ``dist/hw``, ``/abs``): looked up there only.
    A bare name is looked up in the search roots, never as a folder of the working directory
    (where a student's folder could ship one)."""
    return "/" in name or os.sep in name or name in (".", "..") or name.startswith("~")


def _inside(path: Path, folders: tuple[Path, ...]) -> bool:
    real = path.resolve()
    return any(real == f or f in real.parents for f in folders)


def find_assignment(
    name: str, home: Path | None = None, submissions: tuple[Path, ...] = ()
) -> Assignment:
    """An assignment by path (a folder holding assignment.toml: a checkout's or a student
    bundle's) or by name under each search root's ``assignments/`` and ``dist/``. A folder
    inside ``submissions`` (the inputs being graded) is never one: a student's folder must not
    become the assignment whose checks and interpreter the host runs."""
    roots = [home] if home is not None else search_roots()
    banned = tuple(p.resolve() for p in submissions)
    candidate = Path(name).expanduser()
    if _is_path(name) and (candidate / "assignment.toml").is_file():
        return load_assignment(candidate.resolve())
    if not PLAIN_NAME.match(name):
        raise UsageError(_not_found(name, roots))
    for root in roots:
        for d in (root / "assignments" / name, root / "dist" / name):  # dist: a student bundle
            if (d / "assignment.toml").is_file() and not _inside(d, banned):
                return load_assignment(d)
    raise UsageError(_not_found(name, roots))


def _not_found(name: str, roots: list[Path]) -> str:
    """Where an assignment was looked for, what was there, and what else is accepted."""
    if not _is_path(name) and (Path(name) / "assignment.toml").is_file():
        return (
            f"no assignment named {name!r} in the search roots; a folder {name} is here, "
            f"but a bare name never means a folder of the working directory (it could be a "
            f"student's): write ./{name} to use that folder"
        )
    if _is_path(name) and Path(name).expanduser().is_dir():
        return (
            f"{name} is a folder without assignment.toml; pass the folder of one assignment "
            "(assignments/NAME or a student bundle dist/NAME)"
        )
    looked = ", ".join(dict.fromkeys(str(r) for r in roots))
    found = sorted(
        {
            f"{p.parent.name}{' (bundle)' if folder == 'dist' else ''}"
            for r in roots
            for folder in ("assignments", "dist")
            for p in (r / folder).glob("*/assignment.toml")
        }
    )
    there = f"; found there: {', '.join(found)}" if found else "; none found there"
    return (
        f"no assignment named {name!r}: looked in assignments/ and dist/ under {looked}{there}. "
        "Pass a path to an assignment folder (one holding assignment.toml, e.g. "
        f"path/to/dist/{Path(name).name}), or set GRADER_HOME to the folder that holds "
        "assignments/"
    )


def load_assignment(root: Path) -> Assignment:
    path = root / "assignment.toml"
    try:
        cfg = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"{path}: {exc}") from exc
    try:
        name = str(cfg["name"])
        stubs = tuple(str(s) for s in cfg["stubs"])
        grading = cfg.get("grading", {})
        ref = root.parent.parent / "reference" / name
        return Assignment(
            name=name,
            title=str(cfg.get("title", name)),
            version=str(cfg.get("version", "0")),
            root=root,
            reference_dir=ref if ref.is_dir() else None,
            stubs=stubs,
            secret_seed=str(grading.get("secret_seed", 0)),
            limits=_limits(cfg.get("limits", {}), path),
            data=grading.get("data"),
            heavy_imports=tuple(grading.get("heavy_imports", ())),
            allow_cuda=bool(grading.get("allow_cuda", False)),
            python=resolve_python(cfg.get("environment", {}), root),
            total_points=float(grading.get("total_points", 100)),
            fixed_hidden_inputs=bool(grading.get("fixed_hidden_inputs", False)),
            manual=tuple(
                ManualItem(str(m["name"]), str(m.get("title", m["name"])), float(m["points"]))
                for m in cfg.get("manual", [])
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AssignmentError(f"{path}: missing or invalid field: {exc}") from exc


def assignment_for(sub: Submission, name: str | None, folder: Path) -> Assignment:
    """The assignment ``grader check`` grades against: ``--assignment``, else the name in the
    notebook's metadata (a plain name, looked up in the search roots only), else the only
    one there is. Nothing in ``folder`` (the student's files) counts, but its ``dist/``."""
    banned = tuple(c for c in folder.iterdir() if c.name != "dist") if folder.is_dir() else ()
    if name:
        return find_assignment(name, submissions=banned)
    if sub.kind == "notebook" and sub.gradable:
        nb = notebook.read(sub.data).nb
        meta = nb.metadata.get("grader", {}) if nb is not None else {}
        named = meta.get("assignment") if isinstance(meta, dict) else None
        if isinstance(named, str) and not PLAIN_NAME.match(named):
            raise UsageError(
                f"the notebook's metadata names the assignment {named[:100]!r}, which is not "
                "a plain name; pass --assignment NAME"
            )
        if isinstance(named, str):
            return find_assignment(named, submissions=banned)
    names = sorted(
        {
            p.parent.name
            for r in search_roots()
            for folder_name in ("assignments", "dist")
            for p in (r / folder_name).glob("*/assignment.toml")
            if not any(b == p.parent or b in p.parents for b in banned)
        }
    )
    if len(names) == 1:
        return find_assignment(names[0], submissions=banned)
    known = f" ({', '.join(names)})" if names else ""
    why = f" ({sub.path.name}: {sub.problem})" if not sub.gradable else ""
    if beside := _bundles_beside(sub.path.parent):  # a bundle the student was handed
        known = f": the student bundle beside it is {' or '.join(beside)}"
        raise UsageError(f"cannot tell which assignment this is{why}; pass --assignment "
                         f"{beside[0]}{known}")  # fmt: skip
    raise UsageError(f"cannot tell which assignment this is{why}; pass --assignment NAME{known}")


def _bundles_beside(folder: Path) -> list[str]:
    """Student bundles (``grader build``'s folders) where the notebook is or beside it, as
    paths to pass: suggested, never used unasked (a student's folder is not a search root)."""
    found = [folder / "assignment.toml", *sorted(folder.glob("*/assignment.toml")),
             *sorted(folder.glob("dist/*/assignment.toml"))]  # fmt: skip
    return [
        f"./{p.parent.relative_to(folder)}" if p.parent != folder else "."
        for p in found
        if p.is_file() and (p.parent / "checks.json").is_file()
    ][:3]
