from curation.settings_base import Settings


class DedupSettings(Settings):
    exact: bool = True
