"""The example outputs of README.md and docs/*.md, made by running their commands on the demo data.

An example is a ```text block on the line after `<!-- example -->`. Each of its lines that
starts with `$ ` is a command; the lines after it, up to the next command, are what the command
printed. Every command runs with bash in a folder holding the demo database `demo.duckdb`, made
as `make demo` makes it (SYNTHETIC reports replayed from the recorded cassettes, then `signals`,
whose background is cached in the database, and the report in `demo-report/`), with this
virtual environment's `bin` first on PATH (so `kratom-ae` and `python` are this checkout's), in
a terminal of 100 columns: a pseudo-terminal with TERM=dumb (rich prints no colours), stdout
and stderr together, as a person would see them. Each markdown file's examples run in order in
a fresh copy of that folder, so an example may read a file an earlier one of its page wrote.

Only what must vary from run to run is normalised (`normalise`), in the output and nowhere else:
- a time of day, the moment a fetch or a signals background was fetched
  (`2026-12-06 23:15:10`, `2026-12-06T23:15:11Z`), is written `YYYY-MM-DD hh:mm:ss` (same
  width, so a table keeps its layout);
- spaces at the end of a line, and blank lines at the end of a command's output, are dropped:
  rich pads every line to the terminal's width, and editors strip what cannot be seen;
- the terminal's line ends (\\r\\n) are \\n.

    python tests/docs_examples.py            # exit 1 and a diff if an example differs from its output
    python tests/docs_examples.py --update   # rewrite every example from the real output (make docs)

tests/test_docs.py runs the check in the test suite, so an example that drifts fails CI.
"""

from __future__ import annotations

import argparse
import difflib
import errno
import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLUMNS = 100
TIMEOUT_SECONDS = 300
# The demo job exactly as the Makefile's `demo` target runs it (tests/test_docs.py checks this).
DEMO_ARGS = ["tests/demo.py", "--db", "demo.duckdb", "--report", "demo-report"]
EXAMPLE = re.compile(r"^<!-- example -->\n```text\n(.*?)^```$", re.M | re.S)
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```$", re.M | re.S)
PROMPT = "$ "
TIME_OF_DAY = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}([ T])\d{2}:\d{2}:\d{2}(?!\d)")
# Variables that would change what a command prints or where it reads from.
UNSET = ["KRATOM_AE_DB", "KRATOM_AE_TRACEBACK", "OPENFDA_API_KEY", "OPENFDA_BASE_URL", "FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"]


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def normalise(output: str) -> str:
    """The output as the docs show it (see the module's docstring for each rule)."""
    output = TIME_OF_DAY.sub(lambda m: f"YYYY-MM-DD{m.group(1)}hh:mm:ss", output.replace("\r\n", "\n"))
    return "\n".join(line.rstrip() for line in output.split("\n")).strip("\n")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        TERM="dumb",
        COLUMNS=str(COLUMNS),
        LINES="50",
        TZ="UTC",
        PYTHONIOENCODING="utf-8",
    )
    return env


def make_demo(folder: Path) -> Path:
    """The demo database and report in `folder`, made by the demo job. The docs show no
    transcript of it: it is long, and in a terminal most of it is progress bars."""
    folder.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(REPO / DEMO_ARGS[0]), *DEMO_ARGS[1:]]
    done = subprocess.run(args, cwd=folder, env=environment(), capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    if done.returncode != 0:
        raise RuntimeError(f"the demo failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return folder


def in_terminal(command: str, folder: Path) -> str:
    """What `command` prints in a terminal of COLUMNS columns, stdout and stderr together.
    A command that fails is an error here: an example shows a command that works."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, COLUMNS, 0, 0))
    process = subprocess.Popen(["bash", "-c", command], cwd=folder, env=environment(), stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    try:
        output = read_all(leader, time.monotonic() + TIMEOUT_SECONDS)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
        code = process.wait()
    if code != 0:
        raise RuntimeError(f"`{command}` exited with {code}:\n{output}")
    return output


def read_all(fd: int, deadline: float) -> str:
    chunks = []
    while True:
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError("an example command ran longer than its time")
        try:
            chunk = os.read(fd, 65536)
        except OSError as error:
            if error.errno == errno.EIO:  # Linux: every holder of the terminal has closed it
                break
            raise
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8")


def transcript(block: str, folder: Path) -> str:
    """The block's commands, each followed by its output now."""
    lines = []
    for command in [line[len(PROMPT):] for line in block.splitlines() if line.startswith(PROMPT)]:
        lines.append(PROMPT + command)
        output = normalise(in_terminal(command, folder))
        if output:
            lines.append(output)
    return "\n".join(lines) + "\n"


def render(text: str, folder: Path) -> str:
    """The markdown text with every example's output made afresh in `folder`."""
    return EXAMPLE.sub(lambda m: f"<!-- example -->\n```text\n{transcript(m.group(1), folder)}```", text)


def unchecked_outputs(text: str) -> list[str]:
    """Fenced blocks that look like a command's output but are no example, so no test runs them:
    a `$ ` prompt, a table's frame or a footer line of the tool's tables."""
    examples = {m.start(1) for m in EXAMPLE.finditer(text)}
    looks_like_output = re.compile(r"^\$ |[│─┌└]|^\(\d+ rows?\)$|^Filters: |^SYNTHETIC DATA", re.M)
    return [m.group(1) for m in FENCE.finditer(text) if m.start(1) not in examples and looks_like_output.search(m.group(1))]


def rendered_docs(demo: Path, work: Path) -> dict[Path, tuple[str, str]]:
    """Each markdown file with examples: (its text, its text with the outputs made now), its
    examples run in a fresh copy of the demo folder."""
    pages = {}
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        if EXAMPLE.search(text):
            folder = work / path.stem
            shutil.copytree(demo, folder)
            pages[path] = (text, render(text, folder))
    return pages


def differences(pages: dict[Path, tuple[str, str]]) -> str:
    diffs = []
    for path, (text, fresh) in pages.items():
        name = str(path.relative_to(REPO))
        diffs += difflib.unified_diff(text.splitlines(keepends=True), fresh.splitlines(keepends=True), name, f"{name} (as the commands print it now)")
    return "".join(diffs)


def main() -> None:
    parser = argparse.ArgumentParser(description="Check (or, with --update, rewrite) the example outputs of README.md and docs/*.md.")
    parser.add_argument("--update", action="store_true", help="rewrite the examples from the commands' real output")
    update = parser.parse_args().update
    with tempfile.TemporaryDirectory(prefix="kratom-ae-docs-") as work:
        print("kratom-ae docs: running the examples on the SYNTHETIC demo data...", file=sys.stderr)
        pages = rendered_docs(make_demo(Path(work) / "demo"), Path(work))
    if update:
        for path, (text, fresh) in pages.items():
            if fresh != text:
                path.write_text(fresh, encoding="utf-8")
                print(f"rewrote {path.relative_to(REPO)}", file=sys.stderr)
        return
    diff = differences(pages)
    sys.stdout.write(diff)
    sys.exit(1 if diff else 0)


if __name__ == "__main__":
    main()
