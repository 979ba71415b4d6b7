#!/usr/bin/env python3
"""Move bot/ modules into their layers and rewrite every reference to them.

One mapping table (``MOVES``) drives both halves:

    python scripts/relayout.py                      # git mv + rewrite the whole tree
    python scripts/relayout.py --rewrite-only F...  # only rewrite imports in the given files

Idempotent: on code that is already moved it changes nothing, so it can be run
again after merging a branch that still uses the old names (``--rewrite-only
tests/...``).  Rewrites dotted module names (``from bot.cases import x``,
``import bot.models``, ``bot.models.UTCDateTime``, ``:mod:`bot.cases```), the
``from bot import db`` form, and file paths (``bot/redact.py``) in text.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# old module -> new module. A package (bot.migrations, bot.commands) moves whole.
MOVES: dict[str, str] = {
    # domain: pure rules and vocabulary
    "bot.acknowledgement": "bot.domain.acknowledgement",
    "bot.calendar": "bot.domain.calendar",
    "bot.domain.assignment": "bot.domain.fair_share",
    # mail: pure email
    "bot.emails": "bot.mail.compose",
    # store: the database and what lives in it
    "bot.db": "bot.store.db",
    "bot.models": "bot.store.models",
    "bot.lease": "bot.store.lease",
    "bot.refs": "bot.store.refs",
    "bot.migrations": "bot.store.migrations",
    # actions: what can happen to a case
    "bot.cases": "bot.actions.cases",
    "bot.assignment": "bot.actions.assignment",
    "bot.privacy": "bot.actions.privacy",
    "bot.registration": "bot.actions.registration",
    "bot.roster": "bot.actions.roster",
    "bot.citizen_mail": "bot.actions.citizen_mail",
    # presenters: what staff and citizens read
    "bot.render": "bot.presenters.render",
    "bot.staff_messages": "bot.presenters.staff_messages",
    "bot.reports": "bot.presenters.reports",
    "bot.charts": "bot.presenters.charts",
    "bot.privacy_words": "bot.presenters.privacy_words",
    # runners: what runs the rest (the review lane re-runs the pipeline)
    "bot.review": "bot.runners.review",
    "bot.pipeline": "bot.runners.pipeline",
    "bot.outbox": "bot.runners.outbox",
    "bot.scheduler": "bot.runners.scheduler",
    "bot.service": "bot.runners.service",
    # cli: the command line
    "bot.cli": "bot.cli.main",
    "bot.checks": "bot.cli.checks",
    "bot.commands.records": "bot.cli.records",
    "bot.commands.review": "bot.cli.review",
    "bot.commands.roster": "bot.cli.roster",
    "bot.commands": "bot.cli",
}

NEW_PACKAGES: dict[str, str] = {
    "bot/store": "The database and what lives in it: engine, models, migrations, leases, "
    "references.",
    "bot/actions": "What can happen to a case: each function changes state inside the caller's "
    "transaction.",
    "bot/presenters": "What staff and citizens read: staff texts, templates, reports, charts.",
    "bot/runners": "What runs: the inbound pipeline and its review lane, the outbox, "
    "the scheduler, the service.",
}

REWRITE_ROOTS = [
    "bot",
    "handlers",
    "tests",
    "bench",
    "docs",
    "README.md",
    "pyproject.toml",
    "Makefile",
    "scripts",
]
SUFFIXES = {".py", ".md", ".toml", ".mako", ".ini", ".cfg", ".txt", ".yaml", ".yml"}
SKIP_PARTS = {".venv", "__pycache__", ".git", "complaint_bot.egg-info"}


def mod_path(module: str) -> Path:
    return ROOT / Path(*module.split("."))


def source_of(module: str) -> Path | None:
    """The file or package directory of ``module`` as it is on disk now, if any."""
    base = mod_path(module)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if base.is_dir() and base.name != "__pycache__":
        return base
    return None


def is_module(module: str) -> bool:
    """Does ``module`` exist in the tree (a .py file or a package directory)?"""
    base = mod_path(module)
    return (
        base.with_suffix(".py").is_file()
        or (base / "__init__.py").is_file()
        or (base.is_dir() and any(base.glob("*.py")))
    )


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move_files() -> None:
    """git mv each old module that still exists; two phases, so bot/cli.py can become bot/cli/."""
    staged: list[tuple[Path, Path]] = []
    for old, new in MOVES.items():
        src = source_of(old)
        if src is None:
            continue
        if src.is_dir():
            if new.startswith(old + "."):
                continue  # already moved: bot/cli/ is now the package bot/cli.py became
            if old == "bot.commands":  # what is left of the package: its __init__
                init = src / "__init__.py"
                if init.is_file() and not (mod_path(new) / "__init__.py").is_file():
                    staged.append((init, mod_path(new) / "__init__.py"))
                continue
            dst = mod_path(new)
        else:
            dst = mod_path(new).with_suffix(".py")
        if dst.exists():
            continue
        tmp = src.with_name(src.name + ".relayout-tmp")
        git("mv", str(src.relative_to(ROOT)), str(tmp.relative_to(ROOT)))
        staged.append((tmp, dst))
    for tmp, dst in staged:
        dst.parent.mkdir(parents=True, exist_ok=True)
        git("mv", str(tmp.relative_to(ROOT)), str(dst.relative_to(ROOT)))
    commands = ROOT / "bot" / "commands"
    if commands.is_dir() and not any(p for p in commands.iterdir() if p.name != "__pycache__"):
        for p in commands.iterdir():
            for q in p.iterdir():
                q.unlink()
            p.rmdir()
        commands.rmdir()
    for pkg, doc in NEW_PACKAGES.items():
        init = ROOT / pkg / "__init__.py"
        if (ROOT / pkg).is_dir() and not init.exists():
            init.write_text(f'"""{doc}"""\n')
            git("add", str(init.relative_to(ROOT)))


# Longest names first, so bot.commands.records wins over bot.commands.
_ORDER = sorted(MOVES, key=len, reverse=True)
_DOTTED = re.compile(r"(?<![\w.])(" + "|".join(re.escape(m) for m in _ORDER) + r")(?![\w])(\.\w+)?")
_FROM_PKG = re.compile(r"^(\s*)from (bot(?:\.\w+)*) import (\w+)(\s+as\s+\w+)?(\s*(?:#.*)?)$", re.M)
_IMPORTED = re.compile(r"\s+import\s+\(?\s*(\w+)")


def _dotted(match: re.Match[str]) -> str:
    old, tail = match.group(1), match.group(2) or ""
    if tail and is_module(old + tail) and not is_module(MOVES[old] + tail):
        return match.group(0)  # already the new layout: e.g. bot.cli.records
    after = match.string[match.end() : match.end() + 2]
    if not tail and (after[:1] == "(" or after == ": "):
        return match.group(0)  # a call on an object named bot (bot.cases()), a log line's name
    if not tail:
        imported = _IMPORTED.match(match.string, match.end())
        # ... except the one name the old module and its new file share: the old
        # ``from bot.cli import main`` meant the function, now ``bot.cli.main.main``.
        if (
            imported
            and is_module(f"{old}.{imported.group(1)}")
            and (MOVES[old] != f"{old}.{imported.group(1)}")
        ):
            return match.group(0)  # from bot.cli import records: a submodule of the new package
    if (
        not tail
        and MOVES[old].startswith(old + ".")
        and not (after[:1] == ":" and after != ": ")
        and not _IMPORTED.match(match.string, match.end())
    ):
        return match.group(0)  # a bare bot.cli now names the package; only bot.cli:main moves
    return MOVES[old] + tail


def _from_pkg(match: re.Match[str]) -> str:
    indent, pkg, name, alias, rest = match.groups()
    old = f"{pkg}.{name}"
    if old not in MOVES or old == "bot.cli":  # bot.cli is still a name (now a package)
        return match.group(0)
    new_pkg, new_name = MOVES[old].rsplit(".", 1)
    as_part = alias or (f" as {name}" if new_name != name else "")
    return f"{indent}from {new_pkg} import {new_name}{as_part}{rest}"


_PACKAGE_MOVES = {"bot.migrations", "bot.commands"}


def rewrite_text(text: str) -> str:
    text = _FROM_PKG.sub(_from_pkg, text)
    text = _DOTTED.sub(_dotted, text)
    for old in _ORDER:
        new = MOVES[old]
        o, n = old.replace(".", "/"), new.replace(".", "/")
        if old in _PACKAGE_MOVES:
            text = re.sub(r"(?<![\w/])" + re.escape(o) + r"/", n + "/", text)
        else:
            text = re.sub(r"(?<![\w/])" + re.escape(o) + r"\.py\b", n + ".py", text)
    return text


def rewrite_file(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    new = rewrite_text(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def tree_files() -> list[Path]:
    out: list[Path] = []
    for root in REWRITE_ROOTS:
        p = ROOT / root
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out.extend(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix in SUFFIXES
                and not SKIP_PARTS & set(f.relative_to(ROOT).parts)
                and f.name != "relayout.py"
            )
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--rewrite-only",
        nargs="+",
        metavar="PATH",
        help="only rewrite imports in these files (directories are walked)",
    )
    args = ap.parse_args(argv)
    if args.rewrite_only:
        files: list[Path] = []
        for name in args.rewrite_only:
            p = Path(name).resolve()
            files.extend(
                [p]
                if p.is_file()
                else [
                    f
                    for f in p.rglob("*")
                    if f.is_file() and f.suffix in SUFFIXES and not SKIP_PARTS & set(f.parts)
                ]
            )
    else:
        move_files()
        files = tree_files()
    changed = [f for f in files if rewrite_file(f)]
    for f in changed:
        print(f"rewrote {f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}")
    sort_imports([f for f in changed if f.suffix == ".py"])
    return 0


def sort_imports(files: list[Path]) -> None:
    """Re-sort the import blocks the rewrite touched (ruff's isort rule, as configured)."""
    ruff = ROOT / ".venv" / "bin" / "ruff"
    if files and ruff.exists():
        subprocess.run(
            [
                str(ruff),
                "check",
                "--no-cache",
                "--select",
                "I",
                "--fix",
                "--quiet",
                *map(str, files),
            ],
            cwd=ROOT,
            check=False,
        )


if __name__ == "__main__":
    sys.exit(main())
