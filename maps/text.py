"""The one rule for text in a map document: every text is HTML-escaped here, once, in Python.

Leaflet inserts tooltip and popup strings and layer-control names as HTML (``innerHTML``), and a
name from an import (an option code, a housing-type name, an anchor label, an organisation) can
carry markup. So every text a map shows — tooltips, popups, layer names, legends, titles, month
labels, the names in GeoJSON properties — goes through :func:`html_text` in the element
constructors of ``maps.elements`` (builders pass plain text), and the browser-side runtime
inserts these escaped strings as HTML as well (``stek.put``), so nothing is escaped twice and
nothing is escaped not at all. :func:`script_json` embeds data in an inline ``<script>``.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import escape


def html_text(text: object) -> str:
    """``text`` as HTML that shows exactly that text (``&``, ``<``, ``>``, ``"``, ``'`` escaped)."""
    return str(escape(str(text)))


def html_texts(texts: Any) -> list[str]:
    """:func:`html_text` over a sequence."""
    return [html_text(t) for t in texts]


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside an inline ``<script>`` element.

    ``<``, ``>`` and ``&`` only occur inside JSON strings, where ``\\u003c`` etc. mean the same
    character, so no ``</script>`` or ``<!--`` can end or bend the script.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return script_safe(text)


def script_safe(json_text: str) -> str:
    """Escape ``<``, ``>`` and ``&`` in a JSON text for an inline script (same value)."""
    return json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
