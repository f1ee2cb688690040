"""Server-rendered Dutch pages, one module per role (moving here from api/routers/pages.py)."""
