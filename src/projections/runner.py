"""Starting the read models: a projection runner that follows the event store by LISTEN/NOTIFY."""

from __future__ import annotations

from eventsourcing.projection import ProjectionRunner

from domain.service import SmartCharging
from projections.view import ReadModels, ReadModelsView


def start_read_models(env: dict[str, str]) -> ProjectionRunner[SmartCharging, ReadModelsView]:
    """Subscribe to the event store and keep the read models; stop with `.stop()` or `with`."""
    return ProjectionRunner(
        application_class=SmartCharging,
        projection_class=ReadModels,
        view_class=ReadModelsView,
        env=env,
    )
