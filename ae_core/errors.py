"""Error types the UI and CLI catch to show a plain message instead of a traceback."""


class AEError(ValueError):
    """Base class: anything a user did or supplied that we refuse, with a message for them."""


class CheckpointError(AEError):
    """A checkpoint folder, zip or file that is not ours, is damaged, or is unsafe."""


class DataError(AEError):
    """A dataset that cannot be found, read, or is malformed."""


class ImageError(AEError):
    """An uploaded image that cannot be decoded safely."""


class TrainingError(AEError):
    """Training that had to stop (non-finite loss, bad configuration)."""
