"""Math pretraining corpus curation: read, extract, filter, dedup, decontaminate, shard, report."""

__version__ = "0.1.0"

STAGES: tuple[str, ...] = ("extract", "filter", "dedup", "decontaminate", "shard", "report")
SOURCES: tuple[str, ...] = ("web", "books", "forums", "code")
