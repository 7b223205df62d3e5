from pydantic import Field

from curation.settings_base import Settings


class ReportSettings(Settings):
    samples_per_source: int = Field(default=5, ge=0)
