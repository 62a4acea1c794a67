"""Template conventions the rendered pages rely on, checked on the template sources."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, nodes

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)  # parsed only, never rendered


def _sources() -> dict[str, str]:
    return {name: (TEMPLATES / name).read_text(encoding="utf-8") for name in ENV.list_templates()}


def test_every_post_form_carries_the_csrf_token_once() -> None:
    forms = 0
    for name, source in _sources().items():
        for form in re.findall(r"<form\b[^>]*\bmethod=\"post\".*?</form>", source, re.S | re.I):
            forms += 1
            assert form.count("{{ csrf() }}") == 1, f"{name}: {form[:120]}"
        if name != "_form.html":
            assert 'name="csrf_token"' not in source, f"{name}: use {{{{ csrf() }}}} from _form.html"
    assert forms > 20


def test_blocks_rendered_alone_import_what_they_use() -> None:
    """jinja2-fragments renders only the block: the template's top-level imports do not run then."""
    views = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "portal").rglob("*.py"))
    fragments = set(re.findall(r"render\(\s*\"([^\"]+)\",\s*block=\"([^\"]+)\"", views))
    assert len(fragments) >= 5
    for name, block_name in sorted(fragments):
        tree = ENV.parse(_sources()[name])
        top = {alias if isinstance(alias, str) else alias[-1]
               for node in tree.body if isinstance(node, nodes.FromImport) for alias in node.names}
        top |= {node.target for node in tree.body if isinstance(node, nodes.Import)}
        block = next(b for b in tree.find_all(nodes.Block) if b.name == block_name)
        own = {alias if isinstance(alias, str) else alias[-1]
               for node in block.find_all(nodes.FromImport) for alias in node.names}
        own |= {node.target for node in block.find_all(nodes.Import)}
        used = {n.name for n in block.find_all(nodes.Name) if n.ctx == "load"}
        assert not (used & top) - own, f"{name} block {block_name}: import {sorted((used & top) - own)} inside it"
