"""Batch scoring: raw rows from a file, the notebook's feature code, the model.

    python -m PKG.score --model DIR INPUT --output OUTPUT [--rejects FILE]

INPUT and OUTPUT are .csv, .parquet or .jsonl (by extension). The input is read in
chunks (memory stays flat however large it is); each chunk is checked against the
data contract (contract.py), the rows that keep it get the notebook's feature code
and the model, and are written with their columns plus `prediction` (and, for a
classifier, `probability_<class>` per class). Rows that break it go to --rejects
with their row number, column and reason. Exit 1 when more than --max-reject-share
of the rows were rejected, 2 for unusable input or options. What is the package's
own (its feature code, its name) comes in a `raw_rows.FeaturePath` and a prog name
from the package's generated `score.py`. Also `check_contract`: the training
run's `--check-contract DIR`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from . import contract
from .model_io import ModelError, load_model
from .raw_rows import FeaturePath, load_state, one_line, where

FORMATS = (".csv", ".parquet", ".jsonl")
CHUNK_ROWS = 100_000


class ScoreError(Exception):
    """Unusable input or options: one line, exit 2."""


def read_chunks(path: Path, rows: int) -> Any:
    """DataFrames of at most `rows` rows, typed as pandas reads them (as the notebook's
    `read_csv` did); a column with a bad value stays text and the contract rejects it."""
    import pandas as pd

    if path.suffix == ".csv":
        yield from pd.read_csv(path, chunksize=rows)
    elif path.suffix == ".jsonl":
        yield from pd.read_json(path, lines=True, chunksize=rows, dtype=False)
    else:
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
            yield batch.to_pandas()


class Writer:
    """Appends frames to a .csv, .jsonl or .parquet file (parquet: the first chunk's schema)."""

    def __init__(self, path: Path) -> None:
        self.path, self.parquet, self.first = path, None, True
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)

    def write(self, frame: Any) -> None:
        if self.path.suffix == ".csv":
            frame.to_csv(self.path, mode="a", header=self.first, index=False)
        elif self.path.suffix == ".jsonl":
            with self.path.open("a", encoding="utf-8") as out:
                if len(frame):
                    out.write(frame.to_json(orient="records", lines=True, double_precision=15,
                                            date_format="iso").rstrip("\n") + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.parquet is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self.parquet = pq.ParquetWriter(self.path, table.schema)
            else:
                table = pa.Table.from_pandas(frame, schema=self.parquet.schema,
                                             preserve_index=False)
            self.parquet.write_table(table)
        self.first = False

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        elif self.first and self.path.suffix == ".csv":
            self.path.write_text("", encoding="utf-8")


def score_chunk(path: FeaturePath, chunk: Any, model: Any, state: Any, rules: dict,
                ranges: contract.Ranges) -> tuple[Any, list[tuple[int, str, str]]]:
    """(the chunk's accepted rows with their predictions, its rejects)."""
    clean, rejects = contract.check_frame(chunk, rules, ranges)
    import numpy as np

    keep = np.ones(len(chunk), dtype=bool)
    keep[[i for i, _, _ in rejects]] = False
    kept = chunk[keep].reset_index(drop=True)
    if not len(clean):
        return kept, rejects
    model_input = path.features(clean, state)
    kept["prediction"] = model.predict(model_input)
    if callable(getattr(model, "predict_proba", None)):
        for label, column in zip(model.classes_, model.predict_proba(model_input).T):
            kept[f"probability_{label}"] = column
    return kept, rejects


def score(path: FeaturePath, args: argparse.Namespace) -> tuple[int, int, dict]:
    """Score the whole input: (rows read, rows rejected, out-of-range counts)."""
    import pandas as pd

    model, _ = load_model(args.model, args.trust_pickle)
    state, rules = load_state(args.model)
    if state is None or rules is None:
        raise ScoreError(f"{args.model}: saved without the feature state: the model takes "
                         "its input as fitted, not raw rows")
    ranges = contract.Ranges()
    output, rejects = Writer(args.output), Writer(args.rejects) if args.rejects else None
    total = rejected = 0
    try:
        for chunk in read_chunks(args.input, args.chunk_rows):
            try:
                scored, bad = score_chunk(path, chunk, model, state, rules, ranges)
            except contract.ContractError as exc:
                raise ScoreError(f"{args.input}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - the notebook's code refused the rows
                raise ScoreError(
                    f"{args.input}: rows {total}-{total + len(chunk) - 1}: the notebook's "
                    f"feature code failed{where(exc, path)}: {type(exc).__name__}: "
                    f"{one_line(exc)}") from None
            output.write(scored)
            if rejects is not None and bad:
                rejects.write(pd.DataFrame(
                    [(total + i, field, reason) for i, field, reason in bad],
                    columns=["row", "column", "reason"]))
            total, rejected = total + len(chunk), rejected + len(bad)
            progress(total, rejected)
    finally:
        output.close()
        if rejects is not None:
            rejects.close()
    return total, rejected, ranges.counts


def progress(total: int, rejected: int) -> None:
    if sys.stderr.isatty():
        print(f"\rscored {total:,} rows, {rejected:,} rejected", end="", file=sys.stderr,
              flush=True)


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Score raw rows from a file with the model saved by --model-out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("input", type=Path, help="a .csv, .parquet or .jsonl file")
    parser.add_argument("--model", type=Path, required=True, metavar="DIR",
                        help="directory written by --model-out")
    parser.add_argument("--output", type=Path, required=True, metavar="FILE",
                        help="the input's columns plus prediction (.csv, .parquet, .jsonl)")
    parser.add_argument("--rejects", type=Path, metavar="FILE",
                        help="rows that break the data contract, with the reason")
    parser.add_argument("--max-reject-share", type=float, default=0.05, metavar="SHARE",
                        help="exit 1 when a larger share of rows is rejected")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, metavar="N",
                        help="rows read, checked and scored at a time")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="load a model.joblib (a pickle): this runs any code whoever "
                        "wrote the model directory put in it")
    return parser


def main(path: FeaturePath, prog: str, argv: list[str] | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    name = prog
    paths = [args.input, args.output, *([args.rejects] if args.rejects else [])]
    unknown = [p for p in paths if p.suffix not in FORMATS]
    if unknown or args.chunk_rows < 1:
        what = f"{unknown[0]}: use {', '.join(FORMATS)}" if unknown else "--chunk-rows < 1"
        print(f"{name}: error: {what}", file=sys.stderr)
        return 2
    if not args.input.is_file():
        print(f"{name}: error: {args.input}: no such file", file=sys.stderr)
        return 2
    try:
        total, rejected, outside = score(path, args)
    except (ScoreError, ModelError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"{name}: error: {exc.name} is needed for {args.input.suffix} files: "
              f"pip install {exc.name}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # unreadable input: a parser's one-line reason
        print(f"{name}: error: {args.input}: {' '.join(str(exc).split())[:300]}",
              file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    share = rejected / total if total else 0.0
    print(json.dumps({"rows": total, "scored": total - rejected, "rejected": rejected,
                      "out_of_range": outside, "output": str(args.output)}), file=sys.stderr)
    if share > args.max_reject_share:
        print(f"{name}: error: {rejected} of {total} rows rejected ({share:.1%} > "
              f"{args.max_reject_share:.1%}){'; see ' + str(args.rejects) if args.rejects else ''}",
              file=sys.stderr)
        return 1
    return 0


def check_contract(path: FeaturePath, model_dir: Path | str, params: Any) -> str | None:
    """Before a training run on new data: why the frame `path.load(params)` gives breaks
    the contract saved in `model_dir` (one line), or None when it keeps it."""
    _, rules = load_state(model_dir)
    if rules is None:
        raise ModelError(f"{model_dir}: no contract.json: train with --model-out first")
    loaded = path.load(params)
    inputs = loaded.drop(columns=[path.target], errors="ignore") if path.target else loaded
    at = f"`{path.frame}` (cell {path.frame_cell}, line {path.frame_line})"
    try:
        _, rejects = contract.check_frame(inputs.reset_index(drop=True), rules)
    except contract.ContractError as exc:
        return f"{at}: {exc.field}: {exc.message} (the contract of {model_dir})"
    if not rejects:
        return None
    row, column, reason = rejects[0]
    return (f"{at}: {len(rejects)} of {len(inputs)} rows break the contract of "
            f"{model_dir}; first: row {row}, {column}: {reason}")
