"""Keeping the read models: the event store's new events, pushed by LISTEN/NOTIFY, in batches."""

from __future__ import annotations

from types import TracebackType

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.service import SmartCharging
from projections.follower import EventFollower
from projections.view import READ_MODELS_NAME, ReadModelsView


class ReadModelsRunner:
    """Projects every new event into the read models, exactly once; resumes after a restart
    (or a lost database) from the position committed with the rows.

    Constructing it makes the tables; `start()` begins following the event store.
    """

    def __init__(self, env: dict[str, str]):
        self.app = SmartCharging(env=env)
        self.view: ReadModelsView = InfrastructureFactory.construct(
            env=Environment(READ_MODELS_NAME, env)
        ).tracking_recorder(ReadModelsView)  # type: ignore[assignment]
        self.follower: EventFollower | None = None

    def start(self) -> bool:
        """Follow the event store; False when already following."""
        if self.follower is not None and self.follower.running:
            return False
        self.follower = EventFollower(
            self.app,
            self.view.process_batch,
            lambda: self.view.max_tracking_id(self.app.name),
            on_stuck=self.view.record_stuck,
            name="read-models",
        ).start()
        return True

    def stop_following(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    def wait(self, position: int | None, timeout: float = 2.0) -> bool:
        return self.view.wait_for(position, timeout)

    def stop(self) -> None:
        self.stop_following()
        self.app.close()
        self.view.datastore.close()

    def __enter__(self) -> ReadModelsRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_read_models(env: dict[str, str]) -> ReadModelsRunner:
    """Subscribe to the event store and keep the read models; stop with `.stop()` or `with`."""
    runner = ReadModelsRunner(env)
    runner.start()
    return runner
