-- _parquet: one table of an export as Parquet (queries/export.py). Run on a connection of its
-- own that may write only into the export's temporary folder; `incoming` is the table, read
-- from the connection that ran it. The key-value metadata carries the data warning into every
-- file, which may travel without its provenance.json.
COPY incoming TO $path (FORMAT parquet, KV_METADATA {synthetic: $synthetic, data_warning: $data_warning, provenance: $provenance});
