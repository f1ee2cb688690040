"""Response schemas shared by routers, services and pages (one per audience)."""
