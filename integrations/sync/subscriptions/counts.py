"""What a run counts: requests, records, writes, failures (reported on its job)."""

from dataclasses import dataclass, field
from typing import Any

Result = dict[str, Any]


@dataclass
class RunCounts:
    requests: int = 0
    records: int = 0
    changed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    quarantined: int = 0  # records set aside (Quarantined records), not blocking the run
    extra: dict[str, Any] = field(default_factory=dict)  # a plan's own figures (walk, poll)

    def as_result(self) -> Result:
        return {
            "requests": self.requests,
            "records": self.records,
            "changed": self.changed,
            "failed": len(self.failed),
            "quarantined": self.quarantined,
            **self.extra,
        }
