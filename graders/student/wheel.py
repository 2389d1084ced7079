"""The in-notebook check as one file students get: ``NAME_check-VERSION-py3-none-any.whl``.

``grader build NAME`` writes it into the student bundle. It is a wheel, so ``%pip install`` of
the file or of a URL where the instructor puts it works; and it is a zip holding pure Python,
so a notebook can also import it from beside itself with no installation at all (the setup
cell puts the file on ``sys.path``; Python's zipimport does the rest). Colab, where a student
can upload a file but has no terminal, is the case that decides this.

Inside: the package ``NAME_check`` with ``check`` (:mod:`graders.student.selfcheck`); under
``NAME_check/_graders/`` a copy of the harness modules it imports, found by following its
relative imports (so the student needs neither this package nor its dependencies beyond numpy
and jinja2); under ``NAME_check/bundle/`` the bundle's public data. The wheel format followed
is the Python Packaging Authority's "Binary distribution format" (file name, ``.dist-info``
with METADATA, WHEEL and a RECORD of sha256 digests). The zip is reproducible: fixed times.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re
import zipfile
from pathlib import Path

from .. import __version__
from ..spec.assignment import Assignment

ROOT_MODULE = "student/selfcheck"  # what the package's check comes from, below graders/
_PKG_DIR = Path(__file__).parent.parent  # graders/
_EPOCH = (1980, 1, 1, 0, 0, 0)
_VERSION = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?")


def package_name(assignment_name: str) -> str:
    """``intro_ann`` -> ``intro_ann_check``: what the notebook imports, and the wheel's name."""
    name = re.sub(r"\W+", "_", assignment_name).strip("_").lower() or "assignment"
    return f"{'a_' if name[0].isdigit() else ''}{name}_check"


def wheel_name(assignment: Assignment) -> str:
    version = assignment.version if _VERSION.fullmatch(assignment.version) else "0"
    return f"{package_name(assignment.name)}-{version}-py3-none-any.whl"


def _target(mod: str, level: int, name: str | None) -> Path:
    """Where a relative import of module ``mod`` (``student/selfcheck``) points, below
    graders/: ``from ..verdict.score`` -> ``verdict/score``; ``from ..inside`` -> ``inside``."""
    base = Path(mod).parent
    for _ in range(level - 1):
        base = base.parent
    return base / name.replace(".", "/") if name else base


def module_closure(root: str = ROOT_MODULE) -> list[str]:
    """The harness modules ``root`` needs (paths below graders/, without ``.py``): itself and
    every module its relative imports reach, transitively (``from ..x.y import``, ``from
    ..x import y``), with the ``__init__`` of each subpackage on the way. graders' own
    ``__init__`` is not among them: the wheel writes its own (its ``__version__``)."""
    seen: set[str] = set()
    todo = [root]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parent = Path(mod).parent
        while parent != Path("."):  # the subpackages it lives in
            todo.append(str(parent / "__init__"))
            parent = parent.parent
        tree = ast.parse((_PKG_DIR / f"{mod}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and node.level >= 1):
                continue
            target = _target(mod, node.level, node.module)
            if (_PKG_DIR / f"{target}.py").is_file():
                todo.append(str(target))
            elif target != Path(".") and (_PKG_DIR / target / "__init__.py").is_file():
                todo.append(str(target / "__init__"))
            if node.module is None or (_PKG_DIR / target).is_dir():
                # from . import x, from ..inside import runtime: modules, or names of an __init__
                todo += [str(target / a.name) for a in node.names
                         if (_PKG_DIR / target / f"{a.name}.py").is_file()]  # fmt: skip
    return sorted(seen)


def _init(assignment: Assignment, pkg: str) -> str:
    return (
        f'"""Self-check for {assignment.title} ({assignment.name} {assignment.version}): the\n'
        "public checks of the assignment, run in your notebook on your functions as they are.\n\n"
        f"    from {pkg} import check\n"
        '    check("a_function")  # one exercise\n'
        "    check()              # all of them\n\n"
        f"Built by graders {__version__}. It holds the public checks and their expected\n"
        'results only: no solution, no hidden checks."""\n\n'
        "from importlib.resources import files as _files\n\n"
        "from ._graders.student.selfcheck import from_folder as _from_folder\n\n"
        'check = _from_folder(_files(__name__) / "bundle")\n'
        '__all__ = ["check"]\n'
    )


def _metadata(assignment: Assignment, dist: str, version: str) -> str:
    return (
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
        f"Summary: Self-check for {assignment.title} (public checks only)\n"
        "Requires-Python: >=3.11\nRequires-Dist: numpy\nRequires-Dist: jinja2>=3.1\n"
    )


def _files(assignment: Assignment, bundle: Path) -> dict[str, bytes]:
    """Every file of the wheel but the RECORD, by path inside it."""
    pkg = package_name(assignment.name)
    files = {f"{pkg}/__init__.py": _init(assignment, pkg).encode()}
    files[f"{pkg}/_graders/__init__.py"] = (
        f'"""Harness modules the self-check runs on (copied from graders {__version__})."""\n\n'
        f'__version__ = "{__version__}"\n'
    ).encode()
    for mod in module_closure():
        files[f"{pkg}/_graders/{mod}.py"] = (_PKG_DIR / f"{mod}.py").read_bytes()
    for tmpl in sorted((_PKG_DIR / "report" / "templates").glob("*.j2")):
        files[f"{pkg}/_graders/report/templates/{tmpl.name}"] = tmpl.read_bytes()
    for data in sorted(bundle.glob("*.json")):
        files[f"{pkg}/bundle/{data.name}"] = data.read_bytes()
    return files


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(assignment: Assignment, bundle: Path) -> Path:
    """The self-check wheel of a bundle folder (its JSON files), written into that folder."""
    name = wheel_name(assignment)
    dist, version = name.split("-")[:2]
    info = f"{dist}-{version}.dist-info"
    files = _files(assignment, bundle)
    files[f"{info}/METADATA"] = _metadata(assignment, dist, version).encode()
    files[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: graders {__version__}\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    ).encode()
    files[f"{info}/top_level.txt"] = f"{package_name(assignment.name)}\n".encode()
    record = [f"{p},sha256={_digest(d)},{len(d)}" for p, d in files.items()]
    files[f"{info}/RECORD"] = ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()
    path = bundle / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, d in files.items():
            entry = zipfile.ZipInfo(p, _EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zf.writestr(entry, d)
    return path
