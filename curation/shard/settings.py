from pydantic import Field

from curation.settings_base import Settings


class ShardSettings(Settings):
    tokens_per_shard: int = Field(default=1_000_000, gt=0)
    seed: int = 20251123
