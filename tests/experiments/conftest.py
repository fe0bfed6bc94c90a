"""One OpenMP thread for the gradient-boosted learners: on a busy shared machine their thread pools oversubscribe
the cores and a few-second fit takes minutes."""

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="openmp"):
        yield
