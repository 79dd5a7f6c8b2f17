"""Subcommands that span the whole package (verify, models, run)."""
