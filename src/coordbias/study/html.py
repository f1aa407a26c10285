"""The study report as a self-contained HTML page: ``report.md`` rendered, figures inlined."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 0.2em; } pre { background: #f5f5f5; padding: 0.6em; }
"""


def _data_uri(path: Path) -> str:
    mime = {
        "png": "image/png",
        "svg": "image/svg+xml",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
    }.get(path.suffix.lstrip(".").lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_html(markdown_text: str, base_dir: Path, title: str) -> str:
    """A self-contained HTML page of ``markdown_text``: images inlined as data URIs, no links out.

    Images whose file is missing are replaced by their alt text.
    """
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])

    def inline(match: re.Match) -> str:
        src = html.unescape(match.group(2))
        path = base_dir / src
        if src.startswith("data:"):
            return match.group(0)
        if not path.is_file() or "://" in src:
            return f"<em>[figure missing: {html.escape(src)}]</em>"
        return f'<img{match.group(1)}src="{_data_uri(path)}"{match.group(3)}>'

    body = re.sub(r'<img([^>]*?)src="([^"]*)"([^>]*)>', inline, body)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
