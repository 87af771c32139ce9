"""What the numbers depend on: CPU, threads, BLAS kernel, OPENBLAS_* settings, Numba."""

import ctypes
import glob
import importlib.util
import os
import platform

import numpy as np

# Variables that change which BLAS kernel runs or how it blocks; the machine may set them.
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER", "CONVSCOPE_JIT")  # fmt: skip


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_core():
    """(core name, config string) of the OpenBLAS that NumPy loaded, or (None, None)."""
    libdir = os.path.dirname(np.__file__) + ".libs"
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas_get_", "openblas_get_"):
            for suffix in ("64_", ""):
                name = f"{prefix}corename{suffix}"
                if hasattr(lib, name):
                    core, config = getattr(lib, name), getattr(lib, f"{prefix}config{suffix}")
                    core.restype = config.restype = ctypes.c_char_p
                    return core().decode(), config().decode()
    return None, None


def _openblas_call(names, *args):
    """Call the first of ``names`` the OpenBLAS NumPy loaded exports; None if there is none."""
    libdir = os.path.dirname(np.__file__) + ".libs"
    for path in glob.glob(os.path.join(libdir, "*openblas*.so*")):
        lib = ctypes.CDLL(path)
        for name in names:
            if hasattr(lib, name):
                return getattr(lib, name)(*args)
    return None


def blas_threads():
    """The number of threads OpenBLAS uses now, or None when unknown."""
    return _openblas_call(("scipy_openblas_get_num_threads64_", "openblas_get_num_threads"))


def set_threads(n, torch=None):
    """Use n threads in OpenBLAS, Numba (once loaded) and PyTorch."""
    _openblas_call(("scipy_openblas_set_num_threads64_", "openblas_set_num_threads"), int(n))
    if importlib.util.find_spec("numba"):
        import numba

        numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(int(n))


def expected_core(flags):
    """The OpenBLAS kernel DYNAMIC_ARCH would pick from the CPU's vector width."""
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        return "SkylakeX"  # the AVX-512 kernels (also used on AMD Zen 4/5)
    if "avx2" in flags:
        return "Haswell"
    return None


def report(torch=None):
    """A dict describing the machine and the libraries, for the table header and the JSON."""
    core, config = openblas_core()
    expected = expected_core(cpu_flags())
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_core": core,
        "blas_config": config,
        "blas_core_expected": expected,
        "blas_core_ok": core is None or expected is None or core == expected,
        "env": {k: os.environ[k] for k in BLAS_ENV if k in os.environ},
        "blas_threads": blas_threads(),
        "numba": None,
        "numba_threads": None,
        "torch": None,
        "torch_threads": None,
    }
    if importlib.util.find_spec("numba"):
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    return info


def threads(info):
    """'BLAS 2, Numba 2, torch 2': the threads each library runs with."""
    counts = {"BLAS": info["blas_threads"], "Numba": info["numba_threads"], "torch": info["torch_threads"]}  # fmt: skip
    return ", ".join(f"{name} {n if n is not None else '-'}" for name, n in counts.items())


def describe(info):
    """Header lines for the printed table, with a warning when the BLAS kernel is not the expected one."""
    lines = [
        f"machine: {info['cpu']}, {info['cores']} cores; python {info['python']}, numpy {info['numpy']}"
        f", numba {info['numba'] or 'missing'}, torch {info['torch'] or 'missing'}",
        f"BLAS: {info['blas_core'] or 'unknown'} kernel (expected {info['blas_core_expected'] or '?'});"
        f" env: {' '.join(f'{k}={v}' for k, v in info['env'].items()) or 'none set'}",
        f"threads: {threads(info)} (--threads N sets all three)",
    ]
    if not info["blas_core_ok"]:
        lines.append(
            f"WARNING: OpenBLAS runs its {info['blas_core']} kernel, not {info['blas_core_expected']};"
            " convscope's GEMMs are slower than this CPU allows. Rerun with the variables unset"
            " for that command only: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench"
        )
    return lines
