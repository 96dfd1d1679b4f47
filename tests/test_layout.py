"""The README's Layout is the tree: every module of the package appears in it, under its folder, and nothing
listed there is missing."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layout_tree() -> set[str]:
    """The files the README's Layout tree lists, as paths from the repository's root."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Layout"):text.index("## Choices of libraries")]
    tree = section[section.index("```\n") + 4:]
    tree = tree[:tree.index("```")]
    listed, folders = set(), {}
    for line in tree.splitlines():
        name = line.split()[0]
        depth = (len(line) - len(line.lstrip())) // 2
        if name.endswith("/"):
            folders = {d: f for d, f in folders.items() if d < depth} | {depth: name}
        elif re.fullmatch(r"[\w]+\.py", name):
            listed.add("".join(folders[d] for d in sorted(folders) if d < depth) + name)
    return listed


def test_every_module_is_in_the_layout():
    modules = {str(p.relative_to(ROOT)) for folder in ("forecast", "models") for p in (ROOT / folder).rglob("*.py")
               if "__pycache__" not in p.parts and p.name != "__init__.py" or p.parent == ROOT / "forecast"}
    listed = _layout_tree()
    assert modules - listed == set(), "modules missing from the README's Layout"
    assert listed - modules == set(), "the README's Layout lists modules that do not exist"
