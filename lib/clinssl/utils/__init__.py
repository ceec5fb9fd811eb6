"""Common pieces every branch uses: seeding, device selection, atomic writes, logging, JSON."""

from clinssl.utils.atomic import atomic_directory, atomic_open, atomic_path, atomic_write_text
from clinssl.utils.device import autocast_dtype, select_device
from clinssl.utils.jsonio import read_json, to_jsonable, write_json
from clinssl.utils.logs import setup_logging
from clinssl.utils.seeding import derive_seed, seed_everything

__all__ = [
    "atomic_directory",
    "atomic_open",
    "atomic_path",
    "atomic_write_text",
    "autocast_dtype",
    "derive_seed",
    "read_json",
    "seed_everything",
    "select_device",
    "setup_logging",
    "to_jsonable",
    "write_json",
]
