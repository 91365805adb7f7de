"""glide (filled in by its issue)."""
