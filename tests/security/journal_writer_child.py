"""Child process for the journal race test: appends entries, rotating every few, while another
process sweeps the same directory.

Usage: python journal_writer_child.py <directory> <entries> <id prefix>
"""

from __future__ import annotations

import sys
from pathlib import Path

from magictunnel.security.audit_journal import Journal


def main(directory: str, entries: int, prefix: str) -> None:
    journal = Journal(Path(directory))
    for i in range(entries):
        journal.append({"id": f"{prefix}-{i}"})
        if i % 3 == 2:  # a new segment every three entries: many creations for the sweeper to race
            journal.rotate()
    journal.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
