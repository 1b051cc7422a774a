"""Each device's gallery as the centre knows it: what it has applied, what it lacks, the
last error, and the erasures it has not confirmed yet (a management or CLI view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rules.gallery_store import GalleryQueries, erasures_pending


@dataclass(frozen=True, slots=True)
class GalleryStatus:
    site: str
    device: str
    site_version: int  # the site's gallery now
    applied_version: int  # what the device acknowledged
    pending: int  # people whose entry changed since (to send, or sent and not yet applied)
    erasures_pending: list[str]  # deleted centrally, not yet confirmed by the device
    last_error: str | None
    sent_at: datetime | None
    acked_at: datetime | None


def gallery_status(store: GalleryQueries, site: str | None = None) -> list[GalleryStatus]:
    rows = []
    for device in store.device_galleries(site):
        lacking = store.gallery_changes(device.site, device.applied_version)
        rows.append(
            GalleryStatus(
                device.site,
                device.device,
                store.gallery_version(device.site),
                device.applied_version,
                len(lacking),
                erasures_pending(lacking, device.applied_version),
                device.last_error,
                device.sent_at,
                device.acked_at,
            )
        )
    return rows
