"""Schema migrations, one folder per backend; files are applied in order of their number."""
