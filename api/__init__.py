"""stek api package."""
