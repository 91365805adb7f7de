"""classifier (filled in by its issue)."""
