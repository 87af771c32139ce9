"""The page's files, shipped in ``convscope/web/static``: read once, served by name only.

The page loads its ES modules through an import map (``convscope/NAME.js`` -> ``/static/NAME.js``)
so that an exported page can map the same names to ``data:`` URLs and work from file://.
"""

import base64
import hashlib
import re
from importlib import resources

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def read():
    """{name: text} of every file in the static folder."""
    folder = resources.files("convscope.web") / "static"
    return {
        f.name: f.read_text(encoding="utf-8")
        for f in folder.iterdir()
        if f.is_file() and f.name.endswith(tuple(TYPES))
    }


def load():
    """{name: (bytes, media type)} for the server."""
    return {name: (text.encode(), TYPES[name[name.rindex(".") :]]) for name, text in read().items()}


def script_hash(html):
    """CSP source of the page's inline import map: 'sha256-...'."""
    digest = hashlib.sha256(IMPORT_MAP.search(html).group(1).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _headers():
    html = read()["index.html"]
    policy = (
        f"default-src 'self'; script-src 'self' {script_hash(html)}; style-src 'self';"
        " img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
        " frame-ancestors 'none'; form-action 'self'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


HEADERS = _headers()
