"""Input and output: atomic writes, Parquet for records, readers for user files."""
