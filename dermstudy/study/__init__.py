"""study (filled in by its issue)."""
