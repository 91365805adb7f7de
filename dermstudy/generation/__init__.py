"""generation (filled in by its issue)."""
