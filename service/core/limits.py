"""Write rate limits: sliding one-minute windows per key, in this process's memory (per worker)."""

from collections import deque

from service.core.errors import Problem


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> int:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        if not self.per_minute:
            return 0
        window = self.hits.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, int(window[0] + 60 - now) + 1)
        window.append(now)
        if len(self.hits) > 100_000:  # bounded memory: forget idle keys
            self.hits = {k: v for k, v in self.hits.items() if v and v[-1] > now - 60}
        return 0


class TooManyWrites(Problem):
    def __init__(self, retry_after: int):
        super().__init__(429, "Too many writes; slow down.", headers={"Retry-After": str(retry_after)})
