"""Server-rendered Dutch pages, one module per role: start, review (gemeente and corporation),
regisseur, planner, admin, about; ``common`` holds rendering, navigation and the page gate."""
