"""MkDocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``).

- Generated pages: ``cli.md`` from the argparse parsers and ``figures/coordinate_maps.png`` from
  the coordinate functions, both made at build time so that neither can drift from the code.
- After the build, every public name (each public module's ``__all__``) must be in the site's
  object inventory; a missing one is a warning, so the strict build fails.
"""

from __future__ import annotations

import logging
from pathlib import Path

import api_names
import cli_page
import coord_figure
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

_log = logging.getLogger("mkdocs.plugins.coordbias_docs")


def on_files(files, config):
    from coordbias.cli.main import build_parser

    files.append(File.generated(config, "cli.md", content=cli_page.cli_markdown(build_parser())))
    files.append(
        File.generated(config, "figures/coordinate_maps.png", content=coord_figure.png_bytes())
    )
    return files


@event_priority(-100)  # after mkdocstrings has written objects.inv
def on_post_build(config):
    pkg = api_names.load_package(Path(config.config_file_path).parent)
    missing = api_names.missing_from_site(pkg, Path(config.site_dir))
    for name in missing:
        _log.warning(f"public name {name} is not documented on any page")
    total = len(api_names.public_names(pkg))
    _log.info(f"API reference: {total - len(missing)} of {total} public names documented")
