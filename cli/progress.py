"""Progress on stderr while fetching: a bar per query (pages and records), retry notices."""

from __future__ import annotations

import typer

from kratom_ae.cli.terminal import printable


class FetchProgress:
    def __init__(self, enabled: bool, quiet: bool = False):
        self.enabled, self.quiet = enabled, quiet
        self._progress = None
        self._tasks: dict = {}

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("records, page {task.fields[page]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress:
            self._progress.stop()
        return False

    def page(self, source: str, term, page, received: int) -> None:
        if not self._progress:
            return
        key = (source, term.term)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(printable(f"{source} {term.term}"), total=page.total, page=0)
        self._progress.update(self._tasks[key], completed=received, total=page.total, page=page.number)

    def background(self, source: str, done: int, total: int) -> None:
        """Background counts: one tick per term searched."""
        if not self._progress or not total:
            return
        key = (source, "background")
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(f"{source} background counts", total=total, page="-")
        self._progress.update(self._tasks[key], completed=done, total=total)

    def retry(self, problem: str, delay: float) -> None:
        self.message(f"{problem}; retrying in {delay:.1f} s.")

    def message(self, text: str) -> None:
        if self.quiet:
            return
        text = printable(text)  # retry notices quote the server, malformed-record lines the data
        if self._progress:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            typer.echo(text, err=True)
