"""Error types the UI and CLI catch to show a plain message instead of a traceback."""

import errno


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


def describe_os_error(exc: OSError) -> str:
    """What went wrong with the machine's storage, in words, without the path (the server's
    folders are not the visitor's business; the CLI adds the path itself)."""
    plain = {
        errno.EACCES: "permission denied: the server may not read or write the file it needs",
        errno.EPERM: "permission denied: the server may not read or write the file it needs",
        errno.EROFS: "the server's storage is read-only",
        errno.ENOSPC: "the server's disk is full",
        errno.EDQUOT: "the server's disk quota is used up",
        errno.ENOENT: "a file it needs is missing",
        errno.EMFILE: "the server has too many files open; try again",
    }
    text = plain.get(exc.errno, exc.strerror or type(exc).__name__)
    return f"Could not complete this: {text}. Nothing already saved was changed."
