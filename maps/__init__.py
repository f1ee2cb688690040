"""stek maps package."""
