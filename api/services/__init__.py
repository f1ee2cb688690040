"""Workflow services: the routes stay thin, services hold the logic."""
