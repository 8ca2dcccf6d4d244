"""Derives an ONNX file from a local sentence-transformers model, once, and keeps it in a cache directory.

The graph holds the whole model (transformer, pooling, normalisation), so it returns finished sentence vectors.
BERT-family graphs are fused by ONNX Runtime's transformer optimiser (attention, embedding layer norm; see
`UNFUSED` for the two fusions left out), and the int8 variant is dynamically
quantised (weights int8 per channel, activations uint8 at run time: VNNI/AVX2 integer kernels). Exporting needs
PyTorch; running the result does not. Files are named by a fingerprint of the model files and the tool versions,
written to a temporary name and renamed, so concurrent processes never read half a file.
"""

import hashlib
import json
import logging
import tempfile
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

EXPORT_FORMAT = 2  # bump when the export below changes, so cached files are derived again
OPSET = 17
FUSABLE_MODEL_TYPES = {"bert"}  # architectures ONNX Runtime's "bert" optimiser fuses (attention, layer norm, GELU)
# Left unfused, in the file and at load time (ONNX Runtime would fuse them again): ORT 1.32's fused kernels for
# these are slower than the plain LayerNormalization, Add and Gelu they replace. MiniLM-L6 int8, 32 chunks of 256
# tokens on 2 cores of an AMD EPYC (Zen 5): 91 chunks/s fused, 119 unfused; SkipLayerNormalization alone took 21 % of
# the run. A 12-token query on one thread: 0.86 ms fused, 0.63 ms unfused. The vectors are the same (cosine to
# PyTorch's 0.9931 on average either way).
UNFUSED = {"enable_skip_layer_norm": "SkipLayerNormFusion", "enable_bias_gelu": "BiasGeluFusion"}
SMALL_FILE_BYTES = 1 << 20  # files this small are fingerprinted by content, larger ones by size


def exported_model(model_path: Path, *, name: str, cache_dir: Path, quantized: bool) -> Path:
    """The ONNX file for the model at `model_path`, exported on first use; `name` (its key) starts the file name."""
    variant = "int8" if quantized else "fp32"
    target = cache_dir / f"{name}-{_fingerprint(model_path, variant)}.onnx"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX (%s); this happens once", name, variant)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".export-") as scratch:
        work = Path(scratch)
        path = _export(model_path, work / "model.onnx")
        path = _optimise(model_path, path, work / "optimised.onnx")
        if quantized:
            path = _quantise(path, work / "int8.onnx")
        path.replace(target)
    return target


def _fingerprint(model_path: Path, variant: str) -> str:
    import onnxruntime

    digest = hashlib.sha256(f"{EXPORT_FORMAT}:{OPSET}:{variant}:{onnxruntime.__version__}".encode())
    for file in sorted(p for p in model_path.rglob("*") if p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(model_path)}:{size}".encode())
        if size <= SMALL_FILE_BYTES:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _export(model_path: Path, output: Path) -> Path:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu").eval()
    transformer = model[0].auto_model
    if hasattr(transformer, "set_attn_implementation"):
        transformer.set_attn_implementation("eager")  # a plain attention graph, which the optimiser can fuse
    sample = model.tokenizer(["an example sentence", "two"], padding=True, return_tensors="pt")
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            features = self.model(dict(zip(names, inputs, strict=True)))
            return torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=1)

    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    # The tracer warns about shape-dependent branches; tests check the graph against the model on varied shapes.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            SentenceEmbedding().eval(),
            tuple(sample[name] for name in names),
            str(output),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={**axes, "embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and its BERT graph is what ORT fuses
        )
    return output


def _optimise(model_path: Path, path: Path, output: Path) -> Path:
    config = json.loads((model_path / "config.json").read_text())
    if config.get("model_type") not in FUSABLE_MODEL_TYPES:
        return path
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    fusions = FusionOptions("bert")
    for option in UNFUSED:
        setattr(fusions, option, False)
    optimised = optimize_model(
        str(path),
        model_type="bert",
        num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]),
        optimization_options=fusions,
    )
    optimised.save_model_to_file(str(output))
    return output


def _quantise(path: Path, output: Path) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(path),
        str(output),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # fused operators come from ONNX Runtime's own domain, where ONNX's shape inference gives no types
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return output
