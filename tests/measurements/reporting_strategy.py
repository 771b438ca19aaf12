"""A copy of the sector strategy under its own key, so that closing its years touches no other test's data."""

from contextlib import asynccontextmanager

from sqlalchemy import delete, select

from service.measurements.models import Assessment, Measurement
from service.seed.loader import DEFAULT_DATA_DIR, institution_ids, load_strategy, read_strategy
from service.strategy.models import Indicator, Strategy


@asynccontextmanager
async def copied_strategy(session, key: str):
    seed = read_strategy(DEFAULT_DATA_DIR / "strategy-2023-2027.yaml")
    institutions = await institution_ids(session)
    await session.commit()
    async with session.begin():
        await load_strategy(
            session, seed.model_copy(update={"strategy": seed.strategy.model_copy(update={"key": key})}), institutions
        )
    try:
        yield key
    finally:
        async with session.begin():
            owned = select(Indicator.id).join(Strategy, Strategy.id == Indicator.strategy_id).where(Strategy.key == key)
            await session.execute(delete(Measurement).where(Measurement.indicator_id.in_(owned)))
            await session.execute(delete(Assessment).where(Assessment.indicator_id.in_(owned)))
            await session.execute(delete(Strategy).where(Strategy.key == key))
