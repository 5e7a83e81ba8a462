"""Benchmark: `kvalidate validate` against kubernetes-validate's own validate(), same documents, same run.

Prints documents/s and CPU per document for both, and their ratio. Targets (issue 2): at least
1,000 documents/s per core end to end (YAML parsing included) and at least 20x kubernetes-validate.

    .venv/bin/python benchmarks/validate.py [--docs 2000] [--kv-sample 150] [--kube-version 1.33]
"""

from __future__ import annotations

import argparse
import gc
import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

from kvalidate.report import REPORTERS  # noqa: E402
from kvalidate.schemas.store import SchemaStore  # noqa: E402
from kvalidate.validation.validate import tune_gc, validate_paths  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--kv-sample", type=int, default=150, help="documents given to kubernetes_validate.validate()")
    ap.add_argument("--kube-version", default="1.33")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, size = corpus.write(root / "valid", args.docs)
        corpus.write(root / "invalid", args.docs // 4, invalid=True)
        print(f"corpus: {args.docs} documents in {files} files, {size / 1e6:.1f} MB "
              f"(+ {args.docs // 4} with the calico-typha error)")

        # kvalidate, end to end: read, parse (positions, duplicates), validate, report.
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        store = SchemaStore.for_version(args.kube_version)
        tune_gc()  # as `kvalidate validate` does
        result = validate_paths([str(root / "valid")], store)
        REPORTERS["json"](result, io.StringIO())
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        assert result.documents == args.docs and result.errors == 0, result.summary()
        kv_rate, kv_cpu = result.documents / cpu, cpu / result.documents
        print(f"kvalidate validate (cold: schemas loaded and compiled inside the timing): {result.documents} docs "
              f"in {wall:.2f} s wall, {cpu:.2f} s CPU -> {kv_rate:,.0f} docs/s per core, {kv_cpu * 1e6:.0f} µs CPU/doc")

        c0 = time.process_time()
        warm = validate_paths([str(root / "valid")], store)
        wcpu = time.process_time() - c0
        print(f"kvalidate validate (warm: validators already compiled): {warm.documents / wcpu:,.0f} docs/s per core, "
              f"{wcpu / warm.documents * 1e6:.0f} µs CPU/doc")

        # The installed command as a user runs it: interpreter start, imports, schemas, report.
        exe = Path(sys.executable).parent / "kvalidate"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        proc = subprocess.run([str(exe), "validate", str(root / "valid"), "--kube-version", args.kube_version,
                               "-f", "json=" + str(root / "report.json")], capture_output=True, text=True)
        wall = time.perf_counter() - w0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ccpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert proc.returncode == 0, proc.stderr
        print(f"`kvalidate validate DIR` as a process (startup included): {wall:.2f} s wall, {ccpu:.2f} s CPU -> "
              f"{args.docs / ccpu:,.0f} docs/s per core, peak RSS {after.ru_maxrss / 1024:.0f} MB")

        c0 = time.process_time()
        bad = validate_paths([str(root / "invalid")], store)
        cpu_bad = time.process_time() - c0
        typha = sum(1 for f in bad.findings if f.path.endswith("volumeMounts[2].value"))
        print(f"kvalidate on invalid docs: {bad.documents} docs, {bad.errors} errors ({typha} typha-shaped), "
              f"{bad.documents / cpu_bad:,.0f} docs/s per core")

        # kubernetes-validate on a sample of the same documents (it re-reads its schemas on every call).
        import kubernetes_validate

        docs = []
        for f in sorted((root / "valid").glob("*.yaml")):
            docs.extend(d for d in yaml.safe_load_all(f.read_text()) if d)
            if len(docs) >= args.kv_sample:
                break
        docs = docs[: args.kv_sample]
        c0 = time.process_time()
        rejected = 0
        for d in docs:
            try:
                kubernetes_validate.validate(d, f"{args.kube_version}.0", strict=True)
            except kubernetes_validate.ValidationError:
                rejected += 1  # e.g. `maxUnavailable: null`, which the API server accepts
        kcpu = time.process_time() - c0
        k_rate = len(docs) / kcpu
        print(f"kubernetes_validate.validate() (parsing not included): {len(docs)} docs, {kcpu:.2f} s CPU -> "
              f"{k_rate:,.0f} docs/s, {kcpu / len(docs) * 1e3:.1f} ms CPU/doc; it rejected {rejected} valid documents "
              "(null int-or-string)")
        print(f"ratio: kvalidate is {kv_rate / k_rate:,.0f}x kubernetes-validate per CPU second "
              f"(targets: >= 1,000 docs/s per core: {'met' if kv_rate >= 1000 else 'NOT met'}; "
              f">= 20x: {'met' if kv_rate / k_rate >= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
