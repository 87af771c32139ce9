"""Read an ONNX file into a checked ``onnx.ModelProto``, or say in one sentence why not.

    model = read_model("model.onnx")

Checks, in order: the file parses as ONNX protobuf (a text file, a safetensors file or a
truncated download does not); it has a graph and an IR version; the weights it keeps in
external data files are there, beside it (onnx refuses locations outside that folder); the
default-domain opset is one convscope reads (MIN_OPSET..the installed onnx's newest); model-local
functions are inlined into standard ops (each op then goes through the same whitelist as the
rest); no node uses a custom op domain; ``onnx.checker`` accepts the model. Nothing from the
file is executed: protobuf holds data only, and convscope runs the ops with its own code.
"""

from pathlib import Path

from ..errors import CheckpointError

MIN_OPSET = (
    13  # Softmax over one axis, Squeeze/Unsqueeze/Split axes as inputs, Dropout's ratio input
)
DEFAULT_DOMAINS = ("", "ai.onnx")


def read_model(path):
    """The ModelProto of ``path`` with its external data loaded and local functions inlined."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such ONNX file")
    data = path.read_bytes()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError (its module differs between builds)
        raise CheckpointError(
            f"{path}: not an ONNX model, or a truncated one: its {len(data):,} bytes do not parse"
            f" as ONNX protobuf ({exc}); export it again (torch.onnx.export or convscope export)"
        ) from None
    if not model.ir_version or not model.HasField("graph") or not model.opset_import:
        raise CheckpointError(
            f"{path}: not an ONNX model (no {_missing(model)}); a .onnx file is a ModelProto"
            f" written by torch.onnx.export, convscope export or onnx.save"
        )
    if model.ir_version > onnx.IR_VERSION:
        raise CheckpointError(
            f"{path}: written in ONNX IR version {model.ir_version}, newer than the installed onnx"
            f" package reads ({onnx.IR_VERSION}); upgrade it: pip install -U onnx"
        )
    _load_external_data(model, path)
    opset = check_opset(model, path)
    if model.functions:
        from onnx import inliner

        model = inliner.inline_local_functions(model)
    _check_domains(model, path)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{path}: a damaged or truncated ONNX model: the ONNX checker says {first!r};"
            f" export it again"
        ) from None
    return model, opset


def _missing(model):
    return ", ".join(
        name
        for name, ok in (
            ("IR version", model.ir_version),
            ("graph", model.HasField("graph")),
            ("opset", model.opset_import),
        )
        if not ok
    )


def check_opset(model, path):
    """The default-domain opset version; CheckpointError outside MIN_OPSET..the newest known."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    if not versions:
        raise CheckpointError(
            f"{path}: the model imports no standard ONNX opset (domains:"
            f" {', '.join(repr(o.domain) for o in model.opset_import)}); convscope runs models"
            f" made of standard ONNX ops, opset {MIN_OPSET} to {newest}"
        )
    version = versions[0]
    if version < MIN_OPSET:
        raise CheckpointError(
            f"{path}: uses ONNX opset {version}, older than convscope reads (opset {MIN_OPSET} to"
            f" {newest}); convert it first: onnx.save(onnx.version_converter.convert_version("
            f"onnx.load(path), 17), path), or export again with opset_version=17 or later"
        )
    if version > newest:
        raise CheckpointError(
            f"{path}: uses ONNX opset {version}, newer than the installed onnx package knows"
            f" ({newest}); upgrade it (pip install -U onnx) or export with an older opset"
        )
    return version


def _load_external_data(model, path):
    """Fill tensors kept in external files (locations relative to the model's folder)."""
    from onnx import external_data_helper as ext

    tensors = [t for t in ext._get_all_tensors(model) if ext.uses_external_data(t)]
    for tensor in tensors:
        location = ext.ExternalDataInfo(tensor).location
        if not (path.parent / location).is_file():
            raise CheckpointError(
                f"{path}: tensor {tensor.name!r} keeps its data in the external file"
                f" {location!r}, which is not in {path.parent}; copy that file next to the model"
                f" (onnx.save(..., save_as_external_data=True) writes both)"
            )
    try:
        ext.load_external_data_for_model(model, str(path.parent))
    except Exception as exc:  # onnx's path checks and bounds checks raise several types
        raise CheckpointError(
            f"{path}: its external data cannot be read ({exc}); the data file must lie in the"
            f" model's folder and hold every tensor whole"
        ) from None


def _check_domains(model, path):
    for node in model.graph.node:
        if node.domain not in DEFAULT_DOMAINS:
            raise CheckpointError(
                f"{path}: node {node.name!r} ({node.op_type}) is a custom op of domain"
                f" {node.domain!r}; convscope runs standard ONNX ops only and never runs code"
                f" from a model file; export the model without custom ops"
            )
