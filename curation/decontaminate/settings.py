from pydantic import Field

from curation.settings_base import Settings


class DecontaminateSettings(Settings):
    # lm-eval-harness and FineMath use 13-grams; DeepSeekMath 10; MegaMath and datatrove 12.
    ngram: int = Field(default=13, gt=0)
