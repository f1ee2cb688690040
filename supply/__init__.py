"""stek supply package."""
