"""Re-make tests/fixtures/reference_rows/ (see tests/reference_rows.py) with the kratom-ae of
an older commit, checked out in a temporary git worktree:

    python tests/record_reference_rows.py [COMMIT]     (default 33d3205, the path before issue 12)

The commit's own code is imported, not this checkout's: the editable install of this
checkout puts a finder on sys.meta_path that would win over sys.path, so it is removed first.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent

CHILD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower() and "editable" not in type(f).__name__.lower()]
sys.path[:0] = [{code!r}, {tests!r}]
import ingest, reference_rows
# The commit's own top-level ingest, named outright: this checkout's kratom_ae stays importable
# (the editable install's path hook; test_hostile, which the malformed pages come from, imports
# it), and reference_rows would otherwise take it.
reference_rows.PREFIX = ""
assert reference_rows.kratom_ae("ingest.store").__file__.startswith({code!r})
assert ingest.__file__.startswith({code!r}), ingest.__file__
from pathlib import Path
reference_rows.write(Path({out!r}), Path({work!r}))
"""


def main() -> None:
    commit = sys.argv[1] if len(sys.argv) > 1 else "33d3205"
    with tempfile.TemporaryDirectory() as tmp:
        code = str(Path(tmp) / "code")
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", code, commit], check=True, capture_output=True)
        try:
            child = CHILD.format(code=code, tests=str(HERE), out=str(HERE / "fixtures" / "reference_rows"), work=tmp)
            subprocess.run([sys.executable, "-c", child], check=True, cwd=tmp)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", code], check=True)
    print(f"wrote {HERE / 'fixtures' / 'reference_rows'} with commit {commit}")


if __name__ == "__main__":
    main()
