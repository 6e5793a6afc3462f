"""Run kratom-ae from the source in DIR (a git worktree or archive of another commit), not the
checkout this venv was installed from: how `bench/run.py --code` and `bench/big_pages.py
--code` measure other code with this venv's packages.

    python -I bench/kratom_ae_from.py DIR fetch ...     (kratom-ae's arguments after DIR)
    python -I bench/kratom_ae_from.py DIR --where       (imports cli.main and ingest, prints the file of every kratom-ae module loaded)

-I matters: without it, `python -c` and scripts put the working directory (often the
checkout) on sys.path ahead of PYTHONPATH, which is how --code used to measure the checkout.
The venv's editable install of the checkout is a finder on sys.meta_path that would fill in
any module DIR lacks; it is removed, so DIR's code runs alone or fails.
"""

from __future__ import annotations

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


def use(code: Path) -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not getattr(finder, "__module__", "").startswith("__editable__")]
    sys.path.insert(0, str(code))


def foreign_modules(code: Path) -> list[str]:
    """kratom-ae modules imported from anywhere but DIR."""
    return [
        f"{name} ({module.__file__})"
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in PACKAGES and getattr(module, "__file__", None) and not Path(module.__file__).resolve().is_relative_to(code)
    ]


def unpaced(args: list[str]) -> list[str]:
    """Commits before the benchmark (63cdd69) have no --requests-per-minute: pacing is switched
    off from here instead."""
    import cli.main
    import ingest.openfda

    if "--requests-per-minute" in args and "--requests-per-minute" not in Path(cli.main.__file__).read_text(encoding="utf-8"):
        at = args.index("--requests-per-minute")
        ingest.openfda.Pacer.wait = lambda self: None
        return args[:at] + args[at + 2:]
    return args


def main() -> None:
    code, args = Path(sys.argv[1]).resolve(), sys.argv[2:]
    use(code)
    import cli.main
    import ingest  # noqa: F401  (cli.main imports it lazily; --where shows where it comes from)

    if args == ["--where"]:
        print("\n".join(sorted(m.__file__ for n, m in sys.modules.items() if n.split(".")[0] in PACKAGES and getattr(m, "__file__", None))))
        return
    args = unpaced(args)
    foreign = foreign_modules(code)
    if foreign:
        raise SystemExit(f"Error: kratom-ae modules came from outside {code}: {', '.join(foreign)}.")
    cli.main.app(args, prog_name="kratom-ae")


if __name__ == "__main__":
    main()
