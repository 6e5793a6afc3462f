"""openFDA's bulk files as a second way in (issue 22): the transport only.

openFDA lists every bulk file in download.json (docs/openfda-api-notes.md, section 6): per
endpoint an `export_date`, `total_records` and `partitions`, each a zip of one JSON document
shaped like a search response, with its `size_mb` and `records`. `download` brings the
partitions of one export into a cache folder the user names:

    CACHE/drug-event/<export_date>/<period>/drug-event-0001-of-0004.json.zip
    CACHE/drug-event/<export_date>/<period>/drug-event-0001-of-0004.json.zip.verified
    CACHE/drug-event/<export_date>/export.json        (the listing of that export, as sent)

A partition is in the cache only when it is whole: its zip reads to the end with every CRC
right, it holds the number of records download.json lists, and it has the listed size. It is
written as NAME.part and renamed when it is, and NAME.verified then says what was checked; a
partition cut short, or a .part left by a killed download, is fetched again. Each export has
a folder of its own, so a newer export never mixes with an older one; and download.json is
read again at the end, so a partition that openFDA replaced by a newer export's while it was
being downloaded is not kept under the older date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from kratom_ae.ingest.errors import KratomAEError
from kratom_ae.ingest.text import plural, printable

LISTING_URL = "https://api.fda.gov/download.json"
ENDPOINTS = {"faers": "drug/event", "caers": "food/event"}
# A partition that arrives damaged this many times in one run stops the download.
ATTEMPTS = 3
# urllib3's Retry waits this, doubled after each failure (1, 2, 4, 8, 16 s: half a minute).
BACKOFF_SECONDS = 1.0
# Room left on the disk besides the partitions: DuckDB's spill files and the database grow there too.
SPARE_BYTES = 500_000_000
CHUNK = 1 << 16
# Names of the cache's own files and folders: download.json's paths must fit them, so that a
# listing cannot name a file outside the cache (../) or one of the user's.
SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Partition:
    url: str
    display_name: str
    size_mb: float | None  # as listed (a string in download.json); None: not listed
    records: int | None
    path: PurePosixPath  # where it goes under the export's folder: <period>/<file>

    @property
    def size_text(self) -> str:
        return "size not listed" if self.size_mb is None else f"{self.size_mb:,.2f} MB"


@dataclass(frozen=True)
class Export:
    source: str  # faers or caers
    endpoint: str  # drug/event
    export_date: str
    total_records: int | None
    partitions: list[Partition]
    listing: dict = field(repr=False)  # the endpoint's entry of download.json, as sent

    @property
    def folder(self) -> PurePosixPath:
        return PurePosixPath(self.endpoint.replace("/", "-")) / self.export_date


def read_listing(body: bytes, sources: list[str]) -> list[Export]:
    """The exports of `sources` in a download.json body; KratomAEError if it is not one."""
    try:
        listing = json.loads(body)
        results = listing["results"]
    except (ValueError, KeyError, TypeError):
        raise KratomAEError("openFDA's download.json is not the listing openFDA documents (no results object); check the listing URL.") from None
    exports = []
    for source in sources:
        category, endpoint = ENDPOINTS[source].split("/")
        entry = (results.get(category) or {}).get(endpoint) if isinstance(results, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("partitions"), list):
            raise KratomAEError(f"openFDA's download.json lists no partitions of {ENDPOINTS[source]}.")
        export_date = str(entry.get("export_date") or "")
        if not SAFE_PART.match(export_date):
            raise KratomAEError(f"openFDA's download.json gives {ENDPOINTS[source]} the export_date {printable(export_date)!r}, which is not a date.")
        partitions = [partition(item, ENDPOINTS[source]) for item in entry["partitions"]]
        exports.append(Export(source, ENDPOINTS[source], export_date, whole_number(entry.get("total_records")), partitions, entry))
    return exports


def partition(item, endpoint: str) -> Partition:
    if not isinstance(item, dict) or not isinstance(item.get("file"), str):
        raise KratomAEError(f"openFDA's download.json lists a partition of {endpoint} without a file URL.")
    url = item["file"]
    parts = PurePosixPath(urlsplit(url).path).parts
    # .../drug/event/<period>/<file>: the period keeps apart files of one name in two quarters.
    tail = parts[-2:] if len(parts) >= 2 else parts
    if not tail or not all(SAFE_PART.match(p) for p in tail) or not tail[-1].endswith(".zip"):
        raise KratomAEError(f"openFDA's download.json lists the partition {printable(url)}, which is not a zip file kratom-ae can name in its cache.")
    size = item.get("size_mb")
    try:
        size_mb = None if size in (None, "") else float(size)
    except (TypeError, ValueError):
        size_mb = None
    return Partition(url, str(item.get("display_name") or tail[-1]), size_mb, whole_number(item.get("records")), PurePosixPath(*tail))


def whole_number(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and str(number) == str(value).strip() else None


# -- What is in the cache -----------------------------------------------------------------


def verified_file(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def in_cache(cache: Path, export: Export, part: Partition) -> bool:
    """Whole, as verify found it when it was downloaded: its .verified record matches the file
    and the listing (a listing that now says other records or another size is fetched again)."""
    path = cache / export.folder / part.path
    try:
        record = json.loads(verified_file(path).read_text(encoding="utf-8"))
        return path.stat().st_size == record["bytes"] and record["url"] == part.url and record["records"] == part.records and record["size_mb"] == part.size_mb
    except (OSError, ValueError, KeyError, TypeError):
        return False


def count_records(path: Path) -> int:
    """The records of a partition, read as a stream (a partition can be gigabytes unzipped):
    the zip's CRC is checked at the end of its member, so a damaged file raises here
    (DamagedPartition)."""
    return sum(1 for _ in read_items(path, "results.item"))


def size_matches(size: int, size_mb: float | None) -> bool:
    """download.json rounds size_mb to two decimals, in megabytes of 10^6 or 2^20 bytes: either
    within a hundredth of a megabyte (or 1% of a large file) is the listed size."""
    if size_mb is None:
        return True
    return any(abs(size / unit - size_mb) <= max(0.01, size_mb / 100) for unit in (1e6, float(1 << 20)))


def damage(path: Path, part: Partition) -> str | None:
    """Why the downloaded file is not the partition listed, or None when it is."""
    size = path.stat().st_size
    if not size_matches(size, part.size_mb):
        return f"{size:,} bytes where download.json lists {part.size_text}"
    try:
        records = count_records(path)
    except DamagedPartition as exc:
        return exc.reason
    if part.records is not None and records != part.records:
        return f"{records:,} records where download.json lists {part.records:,}"
    return None


def cached_export(cache: Path, source: str) -> Export:
    """The newest export of a source in the cache, with every partition whole (in_cache);
    KratomAEError when there is none, or when the newest is not whole: an older export would
    be read without a word while the user believes the newest is."""
    endpoint = ENDPOINTS[source]
    download = f"kratom-ae bulk download {cache} --source {source}"
    if cache.exists() and not cache.is_dir():
        raise KratomAEError(f"{cache} is a file, not a folder of bulk files; name the folder kratom-ae bulk download filled.")
    if not cache.is_dir():
        raise KratomAEError(f"There is no folder {cache}; download the bulk files into it first: {download}.")
    folder = next(exports_in(cache, source), None)
    if folder is None:
        raise KratomAEError(f"The folder {cache} holds no bulk files of {endpoint}; download them first: {download}.")
    try:
        entry = json.loads((folder / "export.json").read_text(encoding="utf-8"))
        export = Export(source, endpoint, str(entry["export_date"]), whole_number(entry.get("total_records")), [partition(item, endpoint) for item in entry["partitions"]], entry)
        if not export.partitions:
            raise ValueError("no partitions")
    except (OSError, ValueError, KeyError, TypeError, KratomAEError):  # KratomAEError: partition() refused an entry
        raise KratomAEError(f"The bulk cache's {folder / 'export.json'} is missing or not the listing kratom-ae wrote there; download again: {download}.") from None
    if cache / export.folder != folder:
        raise KratomAEError(f"The bulk cache's {folder / 'export.json'} names the export {printable(export.export_date)}, not the folder's; download again: {download}.")
    whole = [p for p in export.partitions if in_cache(cache, export, p)]
    if len(whole) < len(export.partitions):
        raise KratomAEError(f"The {endpoint} export {export.export_date} in {cache} is not whole ({len(whole):,} of {plural(len(export.partitions), 'partition')}); finish the download first: {download}.")
    return export


class DamagedPartition(KratomAEError):
    """A partition that is not one whole zip of JSON; `reason` says what is wrong."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"The bulk partition {printable(str(path))} is damaged ({reason}); delete it and run kratom-ae bulk download again.")
        self.reason = reason


class FirstKeyWins(dict):
    """A JSON object read as DuckDB reads one (the search API's pages): of a key given twice,
    the first value. ijson's dict would keep the last, and a record's name could then be
    another than the one the same record fetched from the API is judged by."""

    def __setitem__(self, key, value):
        if key not in self:
            super().__setitem__(key, value)


def read_items(path: Path, prefix: str) -> Iterator:
    """The values at `prefix` ("results.item", "meta") of a partition's one JSON document, one
    at a time (never the partition in memory). Numbers come as int or float: a record written
    out again has 1.0 where the file had 1.0 and 1.5 where it had 1.50, as DuckDB reads them.
    ijson's C parser stops at an integer beyond 64 bits, which DuckDB reads: the partition is
    then read on from there by ijson's Python parser. DamagedPartition for anything else."""
    import zlib

    import ijson

    done = 0
    for parser in (ijson, ijson.get_backend("python")):
        try:
            with zipfile.ZipFile(path) as archive, archive.open(json_member(archive)) as stream:
                for number, item in enumerate(parser.items(stream, prefix, use_float=True, map_type=FirstKeyWins)):
                    if number >= done:
                        done += 1
                        yield item
            return
        except ijson.JSONError as exc:
            if parser is ijson and "integer overflow" in str(exc):
                continue
            raise DamagedPartition(path, f"not whole JSON: {str(exc).splitlines()[0]}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DamagedPartition(path, f"not a whole zip: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'cut short'}") from None


def partition_meta(path: Path) -> dict:
    """A partition's meta object (its disclaimer, last_updated)."""
    items = read_items(path, "meta")
    try:
        meta = next(items, None)
    finally:
        items.close()
    return meta if isinstance(meta, dict) else {}


def partition_records(path: Path) -> Iterator[dict]:
    """A partition's records, one at a time (read_items)."""
    return read_items(path, "results.item")


def parse_record(text: bytes):
    """One record's JSON text, parsed as read_items parses the records of a partition."""
    import io

    import ijson

    for parser in (ijson, ijson.get_backend("python")):
        try:
            return next(parser.items(io.BytesIO(text), "", use_float=True, map_type=FirstKeyWins))
        except ijson.JSONError as exc:
            if parser is ijson and "integer overflow" in str(exc):
                continue
            raise


# The meta and whatever comes before "results" must fit in this much of a partition's start.
ENVELOPE_BYTES = 1 << 20


@dataclass(frozen=True)
class Unzipped:
    """A partition's results array, unzipped into a file of its own (DuckDB does not read
    .zip), and the partition's meta."""

    meta: object
    path: Path


def unzip_results(path: Path, into: Path) -> Unzipped | None:
    """The results array of a partition in openFDA's layout, {"meta": {...}, "results": [...]}
    with meta before results and results last, streamed into the file `into` (never the
    partition in memory); None for any other layout (read_items reads those), for a partition
    that is not a whole zip (read_items says so), or an error writing `into`. Only the meta is
    parsed here: whoever reads the file checks the array (a key after it, or a second
    results, makes it no JSON list)."""
    import zlib

    try:
        blocks = member_blocks(path)
        head = b""
        for block in blocks:
            head += block
            if len(head) >= ENVELOPE_BYTES:
                break
        located = envelope(head)
        if located is None:
            blocks.close()
            return None
        meta, start = located
        with open(into, "wb") as out:
            out.write(head[start:])
            tail = head[start:][-64:]
            for block in blocks:
                out.write(block)
                tail = (tail + block[-64:])[-64:]
            end = out.tell()
        # The document's closing brace (and the space after it) is cut off: the array is left.
        stripped = tail.rstrip(b" \t\n\r")
        if not stripped.endswith(b"}"):
            return None
        os.truncate(into, end - (len(tail) - len(stripped)) - 1)
        return Unzipped(meta, into)
    except (zipfile.BadZipFile, zlib.error, inflating.error, EOFError, DamagedPartition, OSError):
        return None


# The inflater of unzip_results: ISA-L's (the isal package), twice as fast as zlib's, which
# reads the same bytes; zlib's when it is not installed.
try:
    from isal import isal_zlib as inflating
except ImportError:  # pragma: no cover (a dependency; zlib is the same inflate, slower)
    import zlib as inflating
# Bytes of the zip read, and of the document made, at a time: a block of a zip bomb stays small.
ZIPPED_BLOCK, UNZIPPED_BLOCK = 1 << 18, 1 << 22


def member_blocks(path: Path) -> Iterator[bytes]:
    """The bytes of a partition's one JSON document, block by block, as zipfile would read them
    (a member stored, or deflated), its CRC and size checked at the end; DamagedPartition for
    a zip that is not whole, or one of another kind (encrypted, compressed otherwise)."""
    import struct

    with zipfile.ZipFile(path) as archive:
        member = json_member(archive)
    if member.flag_bits & 0x1 or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DamagedPartition(path, "not a zip of the kind openFDA writes (encrypted, or not deflated)")
    with open(path, "rb") as file:
        file.seek(member.header_offset)
        header = file.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise DamagedPartition(path, "not a whole zip: BadZipFile: no local file header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        file.seek(member.header_offset + 30 + name_length + extra_length)
        inflater = inflating.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED else None
        left, crc, size = member.compress_size, 0, 0
        while left or (inflater is not None and inflater.unconsumed_tail):
            if inflater is not None and inflater.unconsumed_tail:
                block = inflater.decompress(inflater.unconsumed_tail, UNZIPPED_BLOCK)
            else:
                zipped = file.read(min(ZIPPED_BLOCK, left))
                if not zipped:
                    raise DamagedPartition(path, "not a whole zip: EOFError: cut short")
                left -= len(zipped)
                block = inflater.decompress(zipped, UNZIPPED_BLOCK) if inflater is not None else zipped
            crc, size = inflating.crc32(block, crc), size + len(block)
            yield block
        if inflater is not None:
            block = inflater.flush()
            crc, size = inflating.crc32(block, crc), size + len(block)
            yield block
            if not inflater.eof:
                raise DamagedPartition(path, "not a whole zip: EOFError: cut short")
        if crc != member.CRC or size != member.file_size:
            raise DamagedPartition(path, "not a whole zip: BadZipFile: Bad CRC-32")


def envelope(head: bytes) -> tuple[object, int] | None:
    """(the first meta's value, where the results array starts) in the start of a partition,
    or None. A key given twice in the meta reads as the first, as read_items reads it."""
    text = head.decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder(object_pairs_hook=first_key_wins)
    position, meta = skip_space(text, 0), None
    if not text.startswith("{", position):
        return None
    position += 1
    while True:
        try:
            key, position = decoder.raw_decode(text, skip_space(text, position))
            position = skip_space(text, position)
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            position = skip_space(text, position + 1)
            if key == "results":
                break
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            return None
        if key == "meta" and meta is None:
            meta = (value,)
        position = skip_space(text, position)
        if not text.startswith(",", position):
            return None
        position += 1
    if meta is None or not text.startswith("[", position):
        return None
    return meta[0], len(text[:position].encode("utf-8", "surrogateescape"))


def first_key_wins(pairs: list[tuple]) -> dict:
    out: dict = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\n\r":
        position += 1
    return position


def json_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The one file of a partition's zip (openFDA puts one JSON document in each)."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        raise DamagedPartition(Path(archive.filename), f"{plural(len(members), 'file')}, not one JSON document")
    return members[0]


# -- Downloading --------------------------------------------------------------------------


@dataclass
class Plan:
    export: Export
    missing: list[Partition]
    present: list[Partition]

    @property
    def bytes_needed(self) -> int:
        return int(sum((p.size_mb or 0) * 1e6 for p in self.missing))


def plan(cache: Path, exports: list[Export]) -> list[Plan]:
    plans = []
    for export in exports:
        present = [p for p in export.partitions if in_cache(cache, export, p)]
        plans.append(Plan(export, [p for p in export.partitions if p not in present], present))
    return plans


def free_bytes(folder: Path) -> int:
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_disk(cache: Path, plans: list[Plan]) -> None:
    needed, free = sum(p.bytes_needed for p in plans), free_bytes(cache)
    if needed + SPARE_BYTES > free:
        raise KratomAEError(
            f"The partitions still to download need {gigabytes(needed)} (and {gigabytes(SPARE_BYTES)} to spare), but the disk of {printable(str(cache))} "
            f"has {gigabytes(free)} free: free some space or name a cache folder on a larger disk."
        )


def gigabytes(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.1f} MB"


def session():
    """requests with urllib3's Retry for what asking again mends (429 and 5xx, honouring
    Retry-After; connections that fail or drop)."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(total=5, backoff_factor=BACKOFF_SECONDS, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=("GET",), respect_retry_after_header=True)
    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    s.headers["User-Agent"] = "kratom-ae (+https://open.fda.gov research client)"
    return s


def get_listing(http, url: str, sources: list[str]) -> list[Export]:
    import requests

    try:
        response = http.get(url, timeout=(10, 120))
    except requests.exceptions.RequestException:
        raise KratomAEError(f"Cannot reach openFDA's listing {printable(url)}: the connection failed.") from None
    if response.status_code != 200:
        raise KratomAEError(f"openFDA's listing {printable(url)} answered HTTP {response.status_code}.")
    return read_listing(response.content, sources)


def fetch_partition(http, part: Partition, path: Path) -> None:
    """The partition into path (through path.part, renamed only once it is whole)."""
    import requests

    partial = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    problem = None
    for _ in range(ATTEMPTS):
        try:
            with http.get(part.url, stream=True, timeout=(10, 120)) as response:
                if response.status_code != 200:
                    raise KratomAEError(f"openFDA answered HTTP {response.status_code} for the partition {printable(part.url)}.")
                with open(partial, "wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
        except requests.exceptions.RequestException:
            problem = "the connection failed or broke off"
            continue
        problem = damage(partial, part)
        if problem is None:
            os.replace(partial, path)
            return
    partial.unlink(missing_ok=True)
    raise KratomAEError(f"The partition {printable(part.display_name)} ({printable(part.url)}) arrived damaged {ATTEMPTS} times ({problem}); the partitions already whole stay in the cache: run the download again later.")


def mark_verified(path: Path, part: Partition, export: Export) -> None:
    record = {"url": part.url, "bytes": path.stat().st_size, "records": part.records, "size_mb": part.size_mb, "export_date": export.export_date,
              "verified_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    verified_file(path).write_text(json.dumps(record), encoding="utf-8")


def write_export(cache: Path, export: Export, listing_url: str) -> None:
    folder = cache / export.folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "export.json").write_text(json.dumps({"listing_url": listing_url, "source": export.source, "endpoint": export.endpoint, **export.listing}, indent=1), encoding="utf-8")


OnPartition = Callable[[Export, Partition, int, int], None]


def download(cache: Path, sources: list[str], listing_url: str = LISTING_URL, http=None, on_plan: Callable[[list[Plan], int], None] | None = None,
             on_partition: OnPartition | None = None) -> list[Plan]:
    """Every partition of the current export of each source into the cache; returns the plans
    (what was there before, what was fetched). Refuses to start when the disk is too small.
    A session made here is closed before it returns; one given is its owner's."""
    if http is None:
        with session() as http:
            return download(cache, sources, listing_url, http, on_plan, on_partition)
    exports = get_listing(http, listing_url, sources)
    plans = plan(cache, exports)
    if on_plan:
        on_plan(plans, free_bytes(cache))
    check_disk(cache, plans)
    fetched: list[Path] = []
    for p in plans:
        write_export(cache, p.export, listing_url)
        for i, part in enumerate(p.missing, 1):
            path = cache / p.export.folder / part.path
            fetch_partition(http, part, path)
            mark_verified(path, part, p.export)
            fetched.append(path)
            if on_partition:
                on_partition(p.export, part, i, len(p.missing))
    # The same URLs serve the next export once openFDA publishes it: a partition fetched after
    # that belongs to the new export, not to the date it is filed under.
    now = {e.source: e.export_date for e in get_listing(http, listing_url, sources)}
    changed = [p.export for p in plans if now.get(p.export.source) != p.export.export_date]
    if changed:
        for path in fetched:
            if any(path.is_relative_to(cache / e.folder) for e in changed):
                verified_file(path).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
        what = ", ".join(f"{e.endpoint} (from {e.export_date} to {now.get(e.source)})" for e in changed)
        raise KratomAEError(f"openFDA published a new export of {what} during the download; the partitions fetched in this run were removed: run the download again.")
    return plans


def exports_in(cache: Path, source: str) -> Iterator[Path]:
    """The export folders of a source in the cache (named by export date), newest first: one
    without its export.json too, so that a newer export is never passed over for an older."""
    base = cache / ENDPOINTS[source].replace("/", "-")
    if base.is_dir():
        yield from sorted((p for p in base.iterdir() if p.is_dir() and SAFE_PART.match(p.name)), reverse=True)


# -- Records that cannot be reports --------------------------------------------------------

def json_kind(value) -> str:
    """A parsed JSON value's kind, in the words of ingest/sql/problems.sql (json_kind)."""
    for kind, words in ((bool, "true or false"), (dict, "an object"), (list, "a list"), (str, "a string"), ((int, float), "a number")):
        if isinstance(value, kind):
            return words
    return "null"


def unkeyable(item, id_field: str) -> str | None:
    """Why an item of a partition's results cannot be a report, or None: it is not a JSON
    object, or it has no id to key it by (`id_field` missing, null, empty, or not one value:
    a list, an object, true or false). An id is empty as the shaping's clean() finds it: of
    nothing but what DuckDB's trim() removes, the space separators (Unicode Zs). Such a record
    would stop the shaping (ingest/staging.py) or be left out by it: both bulk ways in set it
    aside first, and say where it was."""
    if not isinstance(item, dict):
        return f"the record is {json_kind(item)}, not an object"
    if id_field not in item:
        return f"{id_field} is missing"
    value = item[id_field]
    if value is None:
        return f"{id_field} is null"
    if isinstance(value, (bool, list, dict)):
        return f"{id_field} is {json_kind(value)}, not one value"
    if isinstance(value, str) and all(unicodedata.category(c) == "Zs" for c in value):
        return f"{id_field} is empty"
    return None


def unkeyable_id(item, id_field: str) -> str | None:
    """The id of an item unkeyable() turned down, as fetch_problems holds a record's id: as
    received, an id that is not one value as its JSON text (problems.sql); None when there is
    none (no object, no id, or an empty one)."""
    value = item.get(id_field) if isinstance(item, dict) else None
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return None


def batches(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    """Records in lists of `size` (the last shorter): the pages both bulk ways in shape."""
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
