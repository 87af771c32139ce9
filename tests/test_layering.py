"""DESIGN.md's layering: a module may import only from the layers its package is allowed to see."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "convscope"

BASE = {"errors", "backend"}
ALLOWED = {
    "errors": set(),
    "backend": {"errors"},
    "kernels": BASE,
    "ops": BASE | {"kernels"},
    "autograd": BASE | {"kernels", "ops"},
    "nn": BASE | {"kernels", "ops", "autograd"},
    "optim": BASE | {"autograd"},
    "data": BASE,
    "models": BASE | {"ops", "autograd", "nn"},
    "train": BASE | {"ops", "autograd", "nn", "optim", "data", "models", "onnx"},
    "distributed": BASE | {"ops", "autograd", "nn", "optim", "data", "models"},
    "explain": BASE | {"kernels", "ops", "autograd", "nn"},
    "inspect": BASE | {"kernels", "ops", "autograd", "nn", "models", "data"},
    "onnx": BASE | {"kernels", "ops", "autograd", "nn", "models"},
    "web": BASE
    | {"ops", "autograd", "nn", "optim", "data", "models", "train", "explain", "inspect"},
    "cli": None,  # the top: may import anything
}


def _layer(path):
    rel = path.relative_to(PKG)
    return (
        rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else None
    )


def _imported_layers(path):
    """Top-level convscope subpackages a module imports (absolute or relative)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    depth = len(path.relative_to(PKG).parts) - 1  # folders below convscope/
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level > depth:  # climbs to convscope/ itself
                    mod = (node.module or "").split(".")
                    names = [a.name for a in node.names] if not mod[0] else [mod[0]]
                    yield from names
            elif node.module and node.module.startswith("convscope."):
                yield node.module.split(".")[1]
            elif node.module == "convscope":
                yield from (a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("convscope."):
                    yield a.name.split(".")[1]


def test_no_module_imports_from_a_layer_above_it():
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        layer = _layer(path)
        if layer is None or ALLOWED.get(layer) is None:
            continue
        for target in _imported_layers(path):
            if target in ALLOWED and target != layer and target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(PKG)} imports {target}")
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_every_package_has_a_layer():
    packages = {p.name for p in PKG.iterdir() if p.is_dir() and not p.name.startswith("_")}
    packages |= {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    assert packages <= set(ALLOWED), f"unlisted layers: {packages - set(ALLOWED)}"


def test_import_convscope_needs_numpy_only():
    import subprocess
    import sys

    code = (
        "import sys, convscope;"
        "heavy = {'torch','matplotlib','PIL','numba','safetensors','tqdm','scipy','onnx','starlette','uvicorn'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
