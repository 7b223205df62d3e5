"""Stream token ids from the shards into fixed-length batches for a training loop.

    python examples/stream_shards.py output/sample --seq-len 2048 --batch-size 8

Each DataLoader worker (and each rank, under torch.distributed) reads its own subset of the
shards listed in manifest.json, one row group at a time, joins the documents' ``input_ids`` with
the tokenizer's EOS id between them, and cuts the stream into ``seq_len + 1`` windows (inputs
plus the shifted labels). Nothing but one row group per worker is held in memory.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info


class ShardTokens(IterableDataset):
    def __init__(self, output_dir: str | Path, split: str = "train", seq_len: int = 2048,
                 rank: int = 0, world_size: int = 1) -> None:
        self.root = Path(output_dir)
        manifest = json.loads((self.root / "manifest.json").read_text())
        self.paths = [self.root / s["path"] for s in manifest["shards"] if s["split"] == split]
        if "input_ids" not in [c["name"] for c in manifest["schema"]]:
            raise ValueError("shards have no input_ids (shard.write_input_ids was false)")
        self.eos_id = manifest["tokenizer"]["eos_id"]
        self.seq_len, self.rank, self.world_size = seq_len, rank, world_size

    def _my_shards(self) -> list[Path]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        slot, slots = self.rank * workers + worker, self.world_size * workers
        return self.paths[slot::slots]

    def __iter__(self) -> Iterator[torch.Tensor]:
        window = self.seq_len + 1
        buffer = np.empty(0, dtype=np.int64)
        for path in self._my_shards():
            shard = pq.ParquetFile(path)
            for group in range(shard.num_row_groups):
                ids = shard.read_row_group(group, columns=["input_ids"]).column("input_ids").combine_chunks()
                flat = ids.values.to_numpy().astype(np.int64)
                ends = ids.offsets.to_numpy()[1:]  # an EOS after every document
                stream = np.insert(flat, ends, self.eos_id)
                buffer = np.concatenate([buffer, stream])
                full = len(buffer) // window
                for i in range(full):
                    yield torch.from_numpy(buffer[i * window:(i + 1) * window].copy())
                buffer = buffer[full * window:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output_dir")
    parser.add_argument("--split", default="train")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-batches", type=int, default=3)
    args = parser.parse_args(argv)

    data = ShardTokens(args.output_dir, args.split, args.seq_len)
    loader = DataLoader(data, batch_size=args.batch_size, num_workers=args.workers)
    for step, batch in enumerate(loader):
        inputs, labels = batch[:, :-1], batch[:, 1:]  # what a causal LM's loss takes
        print(f"step {step}: inputs {tuple(inputs.shape)} labels {tuple(labels.shape)} first ids {inputs[0, :8].tolist()}")
        if step + 1 >= args.max_batches:
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
