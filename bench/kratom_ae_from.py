"""Run kratom-ae from the source in DIR (a git worktree or archive of another commit), not the
checkout this venv was installed from: how `bench/run.py --code` and `bench/big_pages.py
--code` measure other code with this venv's packages.

    python -I bench/kratom_ae_from.py DIR fetch ...     (kratom-ae's arguments after DIR)
    python -I bench/kratom_ae_from.py DIR --where       (imports cli.main and ingest, prints the file of every kratom-ae module loaded)

Commits since issue 21 install under one name, kratom_ae (its folder holds only __init__.py; the
subpackages are DIR's top-level folders, as pyproject.toml's package-dir maps them); older ones
are the top-level packages themselves. Both are run.

-I matters: without it, `python -c` and scripts put the working directory (often the
checkout) on sys.path ahead of PYTHONPATH, which is how --code used to measure the checkout.
The venv's editable install of the checkout is a finder on sys.meta_path that would fill in
any module DIR lacks; it is removed, so DIR's code runs alone or fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

PACKAGES = ("ingest", "cli", "queries", "report")


def command(python: str, code: Path) -> list[str]:
    """The command line that runs DIR's kratom-ae with this venv's python (arguments follow)."""
    return [python, "-I", str(Path(__file__).resolve()), str(code)]


def where(python: str, code: Path) -> str:
    """Where DIR's ingest package is imported from (its __init__.py), after checking that every
    kratom-ae module the command loads lies under DIR; a one-sentence SystemExit otherwise."""
    done = subprocess.run([*command(python, code), "--where"], capture_output=True, text=True)
    files = done.stdout.split()
    outside = [f for f in files if not Path(f).resolve().is_relative_to(code)]
    ingest = [f for f in files if f.endswith(os.path.join("ingest", "__init__.py"))]
    if done.returncode or outside or not ingest:
        problem = ", ".join(outside) if outside else (done.stderr.strip().splitlines() or ["no ingest package"])[-1]
        raise SystemExit(f"Error: --code {code} cannot run kratom-ae from that folder alone: {problem}.")
    return ingest[0]


def use(code: Path) -> str:
    """Makes DIR's code the only kratom-ae there is; returns the prefix of its module names."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "__module__", "").startswith("__editable__")]
    sys.path.insert(0, str(code))
    init = code / "kratom_ae" / "__init__.py"
    if not init.is_file():
        return ""
    spec = importlib.util.spec_from_file_location("kratom_ae", init, submodule_search_locations=[str(init.parent), str(code)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["kratom_ae"] = module
    spec.loader.exec_module(module)
    return "kratom_ae."


def ours(name: str) -> bool:
    top = name.split(".")[0]
    return top in PACKAGES or top == "kratom_ae"


def foreign_modules(code: Path) -> list[str]:
    """kratom-ae modules imported from anywhere but DIR."""
    return [
        f"{name} ({module.__file__})"
        for name, module in list(sys.modules.items())
        if ours(name) and getattr(module, "__file__", None) and not Path(module.__file__).resolve().is_relative_to(code)
    ]


def unpaced(args: list[str], prefix: str) -> list[str]:
    """Commits before the benchmark (63cdd69) have no --requests-per-minute: pacing is switched
    off from here instead."""
    cli_main = importlib.import_module(prefix + "cli.main")
    openfda = importlib.import_module(prefix + "ingest.openfda")

    if "--requests-per-minute" in args and "--requests-per-minute" not in Path(cli_main.__file__).read_text(encoding="utf-8"):
        at = args.index("--requests-per-minute")
        openfda.Pacer.wait = lambda self: None
        return args[:at] + args[at + 2:]
    return args


def main() -> None:
    code, args = Path(sys.argv[1]).resolve(), sys.argv[2:]
    prefix = use(code)
    cli_main = importlib.import_module(prefix + "cli.main")
    importlib.import_module(prefix + "ingest")  # cli.main imports it lazily; --where shows where it comes from

    if args == ["--where"]:
        print("\n".join(sorted(m.__file__ for n, m in sys.modules.items() if ours(n) and getattr(m, "__file__", None))))
        return
    args = unpaced(args, prefix)
    foreign = foreign_modules(code)
    if foreign:
        raise SystemExit(f"Error: kratom-ae modules came from outside {code}: {', '.join(foreign)}.")
    cli_main.app(args, prog_name="kratom-ae")


if __name__ == "__main__":
    main()
