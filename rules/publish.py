"""What the rules service publishes: violations, corrections, inspections, dead letters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mqtt import schema, topics
from mqtt.ids import utc_now
from rules.engine import ViolationRecord
from rules.inspection import InspectionReport
from rules.manager_actions import ManagerAction
from rules.store import DeadLetterRow
from rules.words import Language, count_word, rule_word, state_word


class ResultPublisher:
    """Turns results into contract payloads with this instance's own sequence numbers."""

    def __init__(self, send: Callable[[schema.Event], object]) -> None:
        self.send = send
        self.seq = 0
        self._lock = threading.Lock()

    def next_seq(self) -> int:
        """The next sequence number of this instance (also for what others send for it)."""
        with self._lock:
            self.seq += 1
            return self.seq

    def _publish(self, kind: type[schema.Event], site: str, ts: datetime, **fields: Any) -> None:
        self.send(schema.new_event(kind, site, topics.CENTRAL, ts, seq=self.next_seq(), **fields))

    def violation(self, record: ViolationRecord, *, withdrawn: bool = False) -> None:
        """A new or changed violation; a withdrawn one goes out as voided, without effect."""
        self._publish(
            schema.Violation,
            record.site,
            utc_now(),
            violation_id=record.violation_id,
            staff_id=record.staff_id,
            rule=record.rule,
            day=record.day,
            severity=schema.Severity(record.severity),
            deduction=0.0 if withdrawn else record.deduction,
            window=record.window,
            correction_no=record.correction_no,
            escalated=record.escalated,
            veto=record.veto and not withdrawn,
            evidence=list(record.evidence),
            status="voided" if withdrawn else record.status,
            detail=("withdrawn on recomputation: " if withdrawn else "") + record.detail,
        )

    def correction(self, site: str, action: ManagerAction) -> None:
        self._publish(
            schema.Correction,
            site,
            action.ts,
            target=action.target,
            action=action.action,
            by=action.by[:200],
            reason=action.reason[:2000],
        )

    def inspections(self, report: InspectionReport, language: Language = "zh") -> None:
        """One summary per site of the report, on its central/inspection topic: the counts
        (codes, for machines; the summary says them in words), then who needs attention, by
        name beside their id and window."""
        for site in sorted({w.site for w in report.windows}):
            counts = report.counts({site})
            summary = ", ".join(
                f"{count_word(k, language)}: {n}" for k, n in sorted(counts.items())
            )
            people = [
                f"{line.label} ({window.label}): "
                + ", ".join(
                    [
                        state_word(line.status, language),
                        *(rule_word(v.rule, language) for v in line.violations),
                    ]
                )
                for window in report.windows
                if window.site == site
                for line in window.staff
                if line.noteworthy()
            ]
            if people:
                summary += ". " + "; ".join(people)
            self._publish(
                schema.Inspection,
                site,
                report.as_of,
                day=report.day,
                counts=counts,
                summary=summary[:2000],
            )

    def dead_letter(self, site: str, row: DeadLetterRow) -> None:
        self._publish(
            schema.DeadLetter,
            site,
            row.received,
            topic=row.topic[:512],
            reason=row.reason[:2000],
            payload=row.payload[:4096],
        )
