"""Talking to openFDA and loading DuckDB, in rooms that import one way only (tests/test_layout.py
holds them to it):

    ways in ──> transport ──> (bytes of openFDA's layout)
       │
       ├──────> shaping ───> (staged Parquet files) ──> publish ──> the user's database
       │                                                   │
       └───────────────────────────────────────────────> database

- transport: `openfda` (the search API: pacing, retries, paging) and `bulk` (openFDA's bulk
  partitions, downloaded into a cache folder and verified).
- shaping: `staging` (a page's records, read and shaped by SQL into staging tables in a
  scratch folder), `terms` (what counts as kratom), `cases` (the probable-case rules).
- database: `store` (opening the user's database, checking it, closing it written) and `raw`
  (a stored report's raw record).
- publish: `publish`, the one step that writes a fetch into the database, in one transaction.
- ways in: `fetch` (API pages: transport, then shaping, then publish), `bulk_load` (bulk
  partitions from the cache: the same shaping and publish), `meddra` (a MedDRA release),
  `background` (openFDA's counts for signals), `bulk_background` (every report of the bulk
  partitions through the same shaping, into the local background's Parquet files beside them,
  not into the database).
- common ground, used by every room and using none: `errors`, `text`, `sqlfiles` (the SQL in
  `sql/`), `pages` (what an openFDA response looks like), `scratch` (a fetch's scratch folder),
  `sources` (FAERS and CAERS: endpoints, name fields, ids), `clock`, `dbfile`, `inputs`,
  `failures`, `countries`, `deadline`.
"""
