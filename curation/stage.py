"""The stage contract: a pure function over Arrow batches, plus counters.

A *batch stage* takes a batch in ``DOC_SCHEMA`` and returns a ``StageOutput`` whose batch has the
same rows (some columns possibly filled in) plus a ``reason`` column: null for a kept row, a
short stable string for a rejected one. Because the output carries every input row, "documents in
= kept + rejected" holds by construction; ``check_accounting`` asserts it.

Counters are for events that are not documents (WARC request records skipped, shingles hashed):
they go to the stats beside the per-source funnel.

Nothing here imports pyspark: ``curation/spark/`` wires these functions with ``mapInArrow``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pyarrow as pa

from curation.schema import DOC_SCHEMA, STAGE_OUTPUT_SCHEMA


@dataclass
class StageOutput:
    batch: pa.RecordBatch  # STAGE_OUTPUT_SCHEMA
    counters: Counter[str] = field(default_factory=Counter)


@runtime_checkable
class BatchStage(Protocol):
    """Picklable; heavy resources (models, indexes) load lazily on first call, once per process."""

    name: str

    def __call__(self, batch: pa.RecordBatch) -> StageOutput: ...


def conform(batch: pa.RecordBatch, schema: pa.Schema = DOC_SCHEMA) -> pa.RecordBatch:
    """Select and cast ``batch`` to ``schema``; absent columns become nulls."""
    arrays = []
    for fld in schema:
        idx = batch.schema.get_field_index(fld.name)
        if idx < 0:
            arrays.append(pa.nulls(batch.num_rows, fld.type))
        else:
            col = batch.column(idx)
            arrays.append(col if col.type == fld.type else col.cast(fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def with_column(batch: pa.RecordBatch, name: str, values: pa.Array | Sequence[object]) -> pa.RecordBatch:
    """Replace (or append) a column, keeping the field's declared type."""
    idx = batch.schema.get_field_index(name)
    typ = batch.schema.field(idx).type if idx >= 0 else None
    arr = values if isinstance(values, pa.Array) else pa.array(values, type=typ)
    if typ is not None and arr.type != typ:
        arr = arr.cast(typ)
    if idx >= 0:
        return batch.set_column(idx, batch.schema.field(idx), arr)
    return batch.append_column(name, arr)


def with_reasons(batch: pa.RecordBatch, reasons: Sequence[str | None]) -> pa.RecordBatch:
    """Attach reasons to a DOC_SCHEMA batch, giving a STAGE_OUTPUT_SCHEMA batch."""
    if len(reasons) != batch.num_rows:
        raise ValueError(f"{len(reasons)} reasons for {batch.num_rows} rows")
    docs = conform(batch, DOC_SCHEMA)
    return pa.RecordBatch.from_arrays(
        [*docs.columns, pa.array(reasons, type=pa.string())], schema=STAGE_OUTPUT_SCHEMA
    )


def check_accounting(n_in: int, out: StageOutput) -> None:
    if out.batch.num_rows != n_in:
        raise AssertionError(f"stage lost rows: {n_in} in, {out.batch.num_rows} out")


class PassThrough:
    """The stage used for ``--skip``: every row kept, unchanged."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, batch: pa.RecordBatch) -> StageOutput:
        return StageOutput(with_reasons(batch, [None] * batch.num_rows))
